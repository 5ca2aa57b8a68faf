// A test host of our own: a network namespace joined to this one by a veth
// pair, addressed in 198.18.0.0/15 (RFC 2544, reserved for benchmarking), so
// test traffic never leaves this machine. Faults are injected with nftables
// inside the namespace (this kernel has no netem).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export interface TestNetwork {
  name: string;
  /** Our side of the veth, in this namespace. */
  hostAddress: string;
  /** The namespace's side: where its servers listen. */
  peerAddress: string;
  /** Runs a command inside the namespace (synchronously). */
  exec(argv: string[], input?: string): string;
  /** Starts a long-running command inside the namespace; killed by destroy(). */
  spawn(argv: string[]): ChildProcess;
  /** Loads an nftables ruleset inside the namespace. */
  nft(ruleset: string): void;
  /** A TCP server in the namespace on `port` that sends `bytes` (if given) to each client, then closes. */
  listen(port: number, options?: { sendBytes?: number }): Promise<ChildProcess>;
  /** Removes the namespace, its veth pair and every process started in it. */
  destroy(): void;
}

let counter = 0;

function usedSubnets(): Set<string> {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  return new Set([...out.matchAll(/inet 198\.(1[89])\.(\d+)\.(\d+)\//g)].map((m) => `${m[1]}.${m[2]}.${Number(m[3]) & ~3}`));
}

/** A /30 of 198.18.0.0/15 no interface here uses: its two addresses. */
function freeLink(): [string, string] {
  const used = usedSubnets();
  let subnet = '';
  for (let tries = 0; tries < 100 && (!subnet || used.has(subnet)); tries++) {
    subnet = `${18 + Math.floor(Math.random() * 2)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 64) * 4}`;
  }
  const [b, c, d] = subnet.split('.').map(Number) as [number, number, number];
  return [`198.${b}.${c}.${d + 1}`, `198.${b}.${c}.${d + 2}`];
}

export function createTestNetwork(): TestNetwork {
  const id = `${process.pid % 100000}${(counter++).toString(36)}`;
  const name = `sherlock-${id}`;
  const hostIf = `shh${id}`.slice(0, 15);
  const peerIf = `shp${id}`.slice(0, 15);
  const [hostAddress, peerAddress] = freeLink();
  const children: ChildProcess[] = [];
  const run = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const inside = (argv: string[]) => ['ip', 'netns', 'exec', name, ...argv];

  run(['ip', 'netns', 'add', name]);
  try {
    run(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf]);
    run(['ip', 'link', 'set', peerIf, 'netns', name]);
    run(['ip', 'addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    run(['ip', 'link', 'set', hostIf, 'up']);
    run(inside(['ip', 'addr', 'add', `${peerAddress}/30`, 'dev', peerIf]));
    run(inside(['ip', 'link', 'set', peerIf, 'up']));
    run(inside(['ip', 'link', 'set', 'lo', 'up']));
  } catch (err) {
    execFileSync('ip', ['netns', 'del', name]);
    throw err;
  }

  const network: TestNetwork = {
    name,
    hostAddress,
    peerAddress,
    exec: (argv, input) => execFileSync(inside(argv)[0]!, inside(argv).slice(1), { encoding: 'utf8', input }),
    spawn(argv) {
      const child = spawn(inside(argv)[0]!, inside(argv).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    nft: (ruleset) => void network.exec(['nft', '-f', '-'], ruleset),
    async listen(port, options = {}) {
      const script = `
        const net = require('net');
        const payload = Buffer.alloc(${options.sendBytes ?? 0}, 120);
        net.createServer((s) => { s.on('error', () => {}); s.resume(); if (payload.length) s.end(payload); })
          .listen(${port}, '${peerAddress}', () => console.log('listening'));`;
      const child = network.spawn(['node', '-e', script]);
      await once(child.stdout!, 'data');
      return child;
    },
    destroy() {
      for (const child of children.splice(0)) child.kill('SIGKILL');
      try {
        const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
        for (const pid of pids) process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
      } catch {
        // already gone
      }
      try {
        execFileSync('ip', ['link', 'del', hostIf], { stdio: 'ignore' });
      } catch {
        // went with the namespace
      }
    },
  };
  return network;
}

/**
 * A host one hop away: this namespace, a test network's namespace as its router, and `far`, a namespace of
 * its own behind it. A token bucket on the router's link toward far (`shape`) is a bottleneck no sender here
 * owns: its queue fills as a real link's would (a sender's own qdisc holds only a packet or two of each of its
 * connections: TCP small queues).
 */
export interface RoutedNetwork {
  router: TestNetwork;
  farAddress: string;
  /** Runs a command inside far (synchronously). */
  exec(argv: string[]): string;
  /** Starts a long-running command inside far; killed by destroy(). */
  spawn(argv: string[]): ChildProcess;
  /** Limits the router's link toward far to `rateBits` per second, with a queue of up to `queueMs` at that rate. */
  shape(rateBits: number, queueMs: number): void;
  destroy(): void;
}

export function createRoutedNetwork(): RoutedNetwork {
  const router = createTestNetwork();
  const id = `${process.pid % 100000}${(counter++).toString(36)}`;
  const name = `sherlock-${id}`;
  const routerIf = `shr${id}`.slice(0, 15);
  const farIf = `shf${id}`.slice(0, 15);
  const [routerAddress, farAddress] = freeLink();
  const children: ChildProcess[] = [];
  const run = (argv: string[]) => execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const inside = (argv: string[]) => ['ip', 'netns', 'exec', name, ...argv];
  const destroy = () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    try {
      for (const pid of run(['ip', 'netns', 'pids', name]).split('\n').filter(Boolean)) process.kill(Number(pid), 'SIGKILL');
      run(['ip', 'netns', 'del', name]);
    } catch {
      // already gone
    }
    try {
      run(['ip', 'route', 'del', `${farAddress}/32`]);
    } catch {
      // went with the router's link
    }
    router.destroy();
  };
  try {
    run(['ip', 'netns', 'add', name]);
    run(['ip', 'link', 'add', routerIf, 'type', 'veth', 'peer', 'name', farIf]);
    run(['ip', 'link', 'set', routerIf, 'netns', router.name]);
    run(['ip', 'link', 'set', farIf, 'netns', name]);
    router.exec(['ip', 'addr', 'add', `${routerAddress}/30`, 'dev', routerIf]);
    router.exec(['ip', 'link', 'set', routerIf, 'up']);
    router.exec(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run(inside(['ip', 'addr', 'add', `${farAddress}/30`, 'dev', farIf]));
    run(inside(['ip', 'link', 'set', farIf, 'up']));
    run(inside(['ip', 'link', 'set', 'lo', 'up']));
    run(inside(['ip', 'route', 'add', 'default', 'via', routerAddress]));
    run(['ip', 'route', 'add', `${farAddress}/32`, 'via', router.peerAddress]);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    router,
    farAddress,
    exec: (argv) => run(inside(argv)),
    spawn(argv) {
      const child = spawn(inside(argv)[0]!, inside(argv).slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(child);
      return child;
    },
    shape: (rateBits, queueMs) =>
      void router.exec(['tc', 'qdisc', 'add', 'dev', routerIf, 'root', 'tbf', 'rate', String(rateBits), 'burst', '32kb', 'latency', `${queueMs}ms`]),
    destroy,
  };
}
