// A PostgreSQL server of a test's own: a cluster made in a temporary directory
// (initdb runs as the postgres user: it refuses root), listening on
// 127.0.0.1:port and on a unix socket in that directory, trusting every local
// connection; and a streaming standby of it. stop() shuts it down at once and
// removes its data.
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPostgres {
  readonly port: number;
  readonly dir: string;
  /** The server's own process (its backends are its children). */
  readonly pid: number;
  stop(): void;
}

/** The newest installed server's programs (Debian: /usr/lib/postgresql/15/bin). */
function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return newest ? join(root, newest, 'bin') : undefined;
}

/** Why a PostgreSQL server cannot be started here, or undefined when it can. */
export function postgresSkipReason(): string | undefined {
  if (!binDir()) return 'PostgreSQL is not installed (scripts/install-deps.sh installs the postgresql package)';
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return 'no postgres user to run the server as';
  }
  return undefined;
}

const asPostgres = (program: string, args: string[]) =>
  execFileSync('runuser', ['-u', 'postgres', '--', program, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });

/** A directory of its own, the postgres user's. */
function ownDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-postgres-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  return dir;
}

/** Runs SQL on the server at 127.0.0.1:port (psql), its output. */
export const sql = (port: number, statement: string): string =>
  execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-Atc', statement], { encoding: 'utf8', timeout: 30_000 });

/** A streaming standby of `primary` (pg_basebackup), on 127.0.0.1:port. */
export function startStandby(primary: TestPostgres, port: number): TestPostgres {
  const dir = ownDir();
  const data = join(dir, 'data');
  try {
    asPostgres(join(binDir()!, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', data, '-R', '-X', 'stream']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return run(dir, port, 'standby');
}

export function startPostgres(port: number): TestPostgres {
  const dir = ownDir();
  try {
    asPostgres(join(binDir()!, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return run(dir, port, 'primary');
}

/** Starts the cluster in dir/data on port (named cluster_name in its processes' titles). */
function run(dir: string, port: number, name: string): TestPostgres {
  const bin = binDir()!;
  const data = join(dir, 'data');
  const stop = () => {
    try {
      asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } catch {
      // never started, or gone already
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c cluster_name=${name}`;
    asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  } catch (err) {
    stop();
    throw err;
  }
  const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return { port, dir, pid, stop };
}
