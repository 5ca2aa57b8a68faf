// The all-in-one mode's Redis: a redis-server child on loopback with its data
// (AOF on) under the state dir. Stopped with the process that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createLogger } from '../util/logger.js';
import { readText } from '../util/read-text.js';
import { makeDirectory } from '../util/make-dir.js';

const log = createLogger({ component: 'redis' });

export interface EmbeddedRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A TCP port free on loopback right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface EmbeddedRedisOptions {
  dataDir: string;
  port?: number;
  binary?: string;
  /** ACL file lines (src/redis/acl.ts); written 0600 beside the data and loaded with --aclfile. */
  acl?: (sha256: (text: string) => string) => string[];
  /** How the AOF is synced (config file load.appendfsync): the loss window on a host crash. */
  appendfsync?: 'always' | 'everysec' | 'no';
  /** More redis-server arguments (e.g. `--cluster-enabled yes`), after the ones above. */
  extraArgs?: string[];
}

/** Starts on options.port, or on a free port; a free port another process took before redis bound it (any connect's local port may) is replaced, twice at most. */
export async function startEmbeddedRedis(options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOn(options.port ?? (await freePort()), options);
    } catch (err) {
      const taken =
        err instanceof Error && /exited at start/.test(err.message) && /Address already in use/.test(readText(join(options.dataDir, 'redis.log')) ?? '');
      if (options.port !== undefined || attempt >= 3 || !taken) throw err;
    }
  }
}

async function startOn(port: number, options: EmbeddedRedisOptions): Promise<EmbeddedRedis> {
  makeDirectory(options.dataDir, 0o700);
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    options.dataDir,
    '--appendonly',
    'yes',
    '--appendfsync',
    options.appendfsync ?? 'everysec',
    '--save',
    '',
    '--daemonize',
    'no',
    '--protected-mode',
    'yes',
    // Redis 7 allocates a new stream's first node at this size: 4 KiB (the default) for every run's
    // event stream cost ~4 KiB of memory and 16-25 µs of a submission's write; 512 B: 0.7 KiB, 6-8 µs.
    '--stream-node-max-bytes',
    '512',
    '--loglevel',
    'warning',
    '--logfile',
    join(options.dataDir, 'redis.log'),
  ];
  if (options.acl) {
    const aclFile = join(options.dataDir, 'users.acl');
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    writeFileSync(aclFile, options.acl(sha256).join('\n') + '\n', { mode: 0o600 });
    chmodSync(aclFile, 0o600);
    args.push('--aclfile', aclFile);
  }
  args.push(...(options.extraArgs ?? []));
  const [command, commandArgs] = diesWithUs(options.binary ?? 'redis-server', args);
  const child = spawn(command, commandArgs, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitForPort(port, child, () => stderr);
  log.info('embedded redis started', { port, dataDir: options.dataDir });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM'); // redis fsyncs the AOF on SIGTERM
      await exited;
    },
  };
}

/**
 * Runs redis-server under setpriv --pdeathsig: it gets SIGTERM (and fsyncs its AOF)
 * when this process ends by any path, an uncaught error or SIGKILL too, not only
 * through stop(). Without setpriv (util-linux), stop() is the only way.
 */
function diesWithUs(binary: string, args: string[]): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'TERM', binary, ...args]] : [binary, args];
}
const SETPRIV = '/usr/bin/setpriv';

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited at start (code ${child.exitCode}): ${stderr().trim() || 'see redis.log'}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within 10s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
