// Sherlock as a responder runs it: `sherlock up` in a child process (its own
// embedded redis-server, the API, a worker for this host, all in Sherlock's
// own cgroup), driven only through the HTTP API. runRunbook() submits a
// runbook with no target, calls `during` once every capture is live, and
// returns the findings once the run has ended.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Finding } from '../../src/analysis/types.js';
import { freePort } from '../../src/redis/embedded.js';
import { processExists, redisServerChildren } from '../helpers/redis.js';
import { Client, readEvents, sherlockBin, waitFor, type RunView } from '../server/harness.js';

export interface RunOutcome {
  id: string;
  run: RunView & { nodes: Record<string, { sherlock?: { cpuMs: number; cgroup?: string } }> };
  findings: Finding[];
  /** When every capture was live, and when `during` ended (Date.now()). */
  liveAt: number;
  doneAt: number;
}

export interface SherlockUp {
  node: string;
  client: Client;
  /** The sherlock process and its embedded redis-server. */
  pids(): number[];
  /** Sherlock's own cgroup (path under the cgroup2 mount), read from /proc. */
  cgroup(): string | undefined;
  runRunbook<T>(
    runbook: string,
    options: { params?: Record<string, unknown>; durationS: number; during: () => Promise<T> },
  ): Promise<RunOutcome & { value: T }>;
  stop(): Promise<void>;
}

export async function startSherlockUp(): Promise<SherlockUp> {
  const stateDir = mkdtempSync(join(tmpdir(), 'sherlock-eval-'));
  const port = await freePort();
  const token = `shk_${randomBytes(24).toString('base64url')}`;
  const node = `eval-${process.pid}`;
  const env: NodeJS.ProcessEnv = { ...process.env, SHERLOCK_LOG: 'error', SHERLOCK_ADMIN_TOKEN: token, SHERLOCK_NODE: node };
  for (const name of ['SHERLOCK_PORT', 'SHERLOCK_STATE_DIR', 'REDIS_URL', 'SHERLOCK_LABELS']) delete env[name];
  const child: ChildProcess = spawn(process.execPath, [sherlockBin, 'up', '--port', String(port), '--state-dir', stateDir], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let stopping = false;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      // A crash mid-suite fails every case after it: say why, once.
      if (!stopping) process.stderr.write(`sherlock up ended during the evaluation (${code ?? signal}); its stderr:\n${err.slice(-4000)}\n`);
      resolve();
    }),
  );
  const client = new Client(`http://127.0.0.1:${port}`, token);

  const cgroupOf = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('0::'))
        ?.slice(3);
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    stopping = true;
    const redis = child.pid ? redisServerChildren(child.pid) : [];
    const cgroup = child.pid ? cgroupOf(child.pid) : undefined;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const late = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(late);
    }
    for (const pid of redis) if (processExists(pid)) process.kill(pid, 'SIGKILL');
    // sherlock up removes its cgroup when it stops; after a SIGKILL the test does.
    const mount = readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .find((l) => l.split(' ')[2] === 'cgroup2')
      ?.split(' ')[1];
    if (mount && cgroup && /\/sherlock-\d+$/.test(cgroup) && existsSync(join(mount, cgroup))) {
      try {
        rmdirSync(join(mount, cgroup));
      } catch {
        // not empty yet: its processes are being killed
      }
    }
    rmSync(stateDir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      'sherlock up to be ready',
      () => {
        if (child.exitCode !== null) throw new Error(`sherlock up exited ${child.exitCode}: ${err}`);
        return out.includes('Ctrl-C stops it.');
      },
      { timeoutMs: 30_000 },
    );
    await waitFor(
      'its worker to heartbeat',
      async () => {
        const nodes = (await client.get('/v1/nodes')).body as { nodes?: { name: string }[] } | { name: string }[];
        const list = Array.isArray(nodes) ? nodes : (nodes.nodes ?? []);
        return list.some((n) => n.name === node);
      },
      { timeoutMs: 20_000 },
    );
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    node,
    client,
    pids: () => (child.pid ? [child.pid, ...redisServerChildren(child.pid)] : []),
    cgroup: () => (child.pid ? cgroupOf(child.pid) : undefined),
    async runRunbook(runbook, options) {
      const outcome = await runOnce(runbook, options);
      // An overloaded shared host can make the worker miss its deadline: that says nothing about the findings; once more.
      const state = outcome.run.nodes[node] as { status?: string; error?: string } | undefined;
      if (state?.status !== 'failed' || !/did not report back/.test(state.error ?? '')) return outcome;
      process.stdout.write(`eval: ${runbook} on ${node} missed its deadline (${state.error}); running it once more\n`);
      return runOnce(runbook, options);
    },
    stop,
  };

  async function runOnce<T>(
    runbook: string,
    { params = {}, durationS, during }: { params?: Record<string, unknown>; durationS: number; during: () => Promise<T> },
  ): Promise<RunOutcome & { value: T }> {
    const id = await client.submit({ runbook, params, duration: `${durationS}s`, targets: { nodes: [node] }, reason: 'eval' });
    const steps = (await client.run(id)).plan.steps.length;
    let live = 0;
    let resolveLive: () => void = () => {};
    const allLive = new Promise<void>((resolve) => (resolveLive = resolve));
    const stream = readEvents(client, id, {
      timeoutMs: (durationS + 60) * 1000,
      onEvent: (e) => {
        const type = (e.data as { type?: string }).type ?? e.event;
        if (type === 'capture-live' && ++live >= steps) resolveLive();
      },
    });
    await Promise.race([allLive, stream.then(() => Promise.reject(new Error(`run ${id} ended before its captures were live`)))]);
    const liveAt = Date.now();
    const value = await during();
    const doneAt = Date.now();
    await stream;
    const run = (await client.waitFinal(id, 30_000)) as RunOutcome['run'];
    const reply = await client.get(`/v1/runs/${id}/findings`);
    if (reply.status !== 200) throw new Error(`GET findings answered ${reply.status}: ${reply.text}`);
    return { id, run, findings: (reply.body as { findings: Finding[] }).findings, liveAt, doneAt, value };
  }
}
