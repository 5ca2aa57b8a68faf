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

export function createTestNetwork(): TestNetwork {
  const id = `${process.pid % 100000}${(counter++).toString(36)}`;
  const name = `sherlock-${id}`;
  const hostIf = `shh${id}`.slice(0, 15);
  const peerIf = `shp${id}`.slice(0, 15);
  const used = usedSubnets();
  let subnet = '';
  for (let tries = 0; tries < 100 && (!subnet || used.has(subnet)); tries++) {
    subnet = `${18 + Math.floor(Math.random() * 2)}.${Math.floor(Math.random() * 256)}.${Math.floor(Math.random() * 64) * 4}`;
  }
  const [b, c, d] = subnet.split('.').map(Number) as [number, number, number];
  const hostAddress = `198.${b}.${c}.${d + 1}`;
  const peerAddress = `198.${b}.${c}.${d + 2}`;
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
