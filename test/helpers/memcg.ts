// A cgroup v1 memory cgroup with a small limit for a test (or a pids cgroup,
// or any v1 controller's), and programs run inside it. Everything is gone
// after remove(): processes killed, directory removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MEMCG_V1_ROOT = '/sys/fs/cgroup/memory';
export const PIDS_V1_ROOT = '/sys/fs/cgroup/pids';
export const BLKIO_V1_ROOT = '/sys/fs/cgroup/blkio';

/** Why a test cannot make a v1 memory cgroup here, or undefined. */
export function memcgSkipReason(): string | undefined {
  if (!existsSync(join(MEMCG_V1_ROOT, 'memory.limit_in_bytes'))) return `no cgroup v1 memory controller at ${MEMCG_V1_ROOT}`;
  if (process.getuid?.() !== 0) return 'needs root to create a memory cgroup';
  return undefined;
}

/** Why a test cannot make a v1 pids cgroup here, or undefined. */
export function pidsCgroupSkipReason(): string | undefined {
  if (!existsSync(join(PIDS_V1_ROOT, 'cgroup.procs'))) return `no cgroup v1 pids controller at ${PIDS_V1_ROOT}`;
  if (process.getuid?.() !== 0) return 'needs root to create a pids cgroup';
  return undefined;
}

/** Why a test cannot make a v1 blkio cgroup with I/O limits here, or undefined. */
export function blkioSkipReason(): string | undefined {
  if (!existsSync(join(BLKIO_V1_ROOT, 'blkio.throttle.read_bps_device'))) return `no cgroup v1 blkio controller with throttling at ${BLKIO_V1_ROOT}`;
  if (process.getuid?.() !== 0) return 'needs root to create a blkio cgroup';
  return undefined;
}

/** The whole disk ("major:minor") holding `path`: limits are set per disk, not per partition. */
export function diskOf(path: string): string {
  const dev = statSync(path).dev;
  const device = `${(dev >> 8) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  const sys = `/sys/dev/block/${device}`;
  return existsSync(join(sys, 'partition')) ? readFileSync(join(sys, '..', 'dev'), 'utf8').trim() : device;
}

/** A v1 blkio cgroup whose reads of `device` ("major:minor") are limited to `bytesPerSecond`. */
export const createBlkioCgroup = (device: string, bytesPerSecond: number): TestMemcg =>
  createV1Cgroup(BLKIO_V1_ROOT, 'sherlock-test-blkio', { 'blkio.throttle.read_bps_device': `${device} ${bytesPerSecond}` });

export interface TestMemcg {
  name: string;
  dir: string;
  /** Runs argv inside the cgroup (the shell joins it, then execs). */
  spawn(argv: string[]): ChildProcess;
  remove(): Promise<void>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const createMemcg = (limitBytes: number): TestMemcg =>
  createV1Cgroup(MEMCG_V1_ROOT, 'sherlock-test-oom', { 'memory.limit_in_bytes': String(limitBytes) });

/** A pids cgroup that lets its processes have `max` tasks (threads count). */
export const createPidsCgroup = (max: number): TestMemcg => createV1Cgroup(PIDS_V1_ROOT, 'sherlock-test-pids', { 'pids.max': String(max) });

/** A new cgroup under a v1 hierarchy's root, its files written. */
export function createV1Cgroup(root: string, prefix: string, files: Record<string, string>): TestMemcg {
  const name = `${prefix}-${process.pid}-${Date.now() % 100000}`;
  const dir = join(root, name);
  mkdirSync(dir);
  for (const [file, value] of Object.entries(files)) writeFileSync(join(dir, file), value);
  const children: ChildProcess[] = [];
  return {
    name,
    dir,
    spawn(argv) {
      const child = spawn('sh', ['-c', `echo $$ > ${quote(join(dir, 'cgroup.procs'))} && exec ${argv.map(quote).join(' ')}`], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      return child;
    },
    async remove() {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      const until = Date.now() + 5000;
      for (;;) {
        const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
        if (!procs) break;
        for (const pid of procs.split('\n')) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        if (Date.now() > until) throw new Error(`processes ${procs} stay in ${dir}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      for (let i = 0; ; i++) {
        try {
          rmdirSync(dir);
          return;
        } catch (err) {
          if (i > 50) throw err; // EBUSY while the last charges drain
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    },
  };
}
