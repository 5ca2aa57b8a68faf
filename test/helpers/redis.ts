// A real redis-server for a test file: on a free loopback port, AOF data in a
// temp dir of its own, stoppable and restartable on the same port and data
// (to test surviving a Redis restart), and removed with its data at the end.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** pid of the running redis-server, undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM (redis fsyncs its AOF) and wait until it exited. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash would, and wait until it exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port and data dir (after stop()). */
  start(): Promise<void>;
  /** stop() and remove the data dir; safe to call twice. */
  dispose(): Promise<void>;
}

// A test file that times out in a hook exits without stopping its Redis: kill
// every redis-server this process started, by pid, on the way out.
const running = new Set<EmbeddedRedis>();
process.once('exit', () => {
  for (const server of running) {
    if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
  }
});

const track = (server: EmbeddedRedis) => {
  running.add(server);
  server.process.once('exit', () => running.delete(server));
  return server;
};

/** `extraArgs` go to redis-server as they are (cluster mode, ...); `port` pins the port. */
export async function startTestRedis(options: { extraArgs?: string[]; port?: number } = {}): Promise<TestRedis> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sherlock-test-redis-'));
  const { extraArgs } = options;
  let server: EmbeddedRedis | undefined;
  try {
    server = track(await startEmbeddedRedis({ dataDir, extraArgs, ...(options.port ? { port: options.port } : {}) }));
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const { port, url } = server;
  let disposed = false;
  return {
    url,
    port,
    dataDir,
    get pid() {
      return server?.process.pid;
    },
    async stop() {
      const s = server;
      server = undefined;
      await s?.stop();
    },
    async kill() {
      const s = server;
      server = undefined;
      if (!s) return;
      const exited = new Promise<void>((resolve) =>
        s.process.exitCode !== null || s.process.signalCode !== null ? resolve() : s.process.once('exit', () => resolve()),
      );
      s.process.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (disposed) throw new Error('this test Redis was disposed');
      if (server) throw new Error('this test Redis is running already');
      server = track(await startEmbeddedRedis({ dataDir, port, extraArgs }));
    },
    async dispose() {
      disposed = true;
      const s = server;
      server = undefined;
      await s?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** pids of redis-server processes whose parent is `parentPid` (this process by default). */
export function redisServerChildren(parentPid: number = process.pid): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(parentPid), '-x', 'redis-server'], { encoding: 'utf8' });
    return out.split('\n').filter(Boolean).map(Number);
  } catch (err) {
    if ((err as { status?: number }).status === 1) return []; // pgrep: nothing matched
    throw err;
  }
}

/** Is a process with this pid still there (not yet reaped counts as there)? */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
