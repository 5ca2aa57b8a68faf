// A light CLI and agent (issue 17), started as a user starts them: `sherlock
// --help` (wall time and max RSS, alternating with a bare `node -e 0` so the
// load of the shared machine shows as a ratio) and an idle `sherlock worker`
// (RSS once it says it is waiting for runs, on a private embedded Redis).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../src/util/paths.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { missingTracingCapabilities } from '../src/libbpf/index.js';
import { trackChild } from './server-common.js';
import { fmtMiB, fmtMs, fmtRatio, kv, median, note, section, table, verdict } from './report.js';

const RUNS = 10;
const sherlockBin = join(projectRoot, 'bin', 'sherlock.js');
const WORKER_READY_MS = 30_000;

/** Wall time and max RSS of one command, via GNU time (-f '%e %M'). */
function timed(args: string[]): { ms: number; rssBytes: number } {
  const t0 = process.hrtime.bigint();
  const result = spawnSync('/usr/bin/time', ['-f', '%M', ...args], { encoding: 'utf8', timeout: 30_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const kb = Number(result.stderr.trim().split('\n').pop());
  return { ms, rssBytes: kb * 1024 };
}

interface IdleWorker {
  rss: number;
  /** RSS split: anonymous (V8's heap, malloc) and file-backed (node's binary, libraries). */
  anon: number;
  file: number;
  /** The warm pool's line: objects and their kernel memory. */
  warm?: string;
}

/** RSS of an idle worker started with `nodeFlags` and `--warm warm`, once its warm pool is ready. */
async function idleWorkerRss(nodeFlags: string[], warm: string): Promise<IdleWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-bench-worker-'));
  const redis = await startEmbeddedRedis({ dataDir: join(dir, 'redis') });
  trackChild(redis.process);
  const child = spawn('node', [...nodeFlags, sherlockBin, 'worker', '--node', `bench-${process.pid}`, '--warm', warm], {
    env: { ...process.env, REDIS_URL: redis.url, SHERLOCK_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker not ready in ${WORKER_READY_MS} ms: ${out}`)), WORKER_READY_MS);
      child.stdout!.on('data', (d: Buffer) => {
        out += d;
        if (out.includes('is waiting for runs')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.stderr!.on('data', (d: Buffer) => (out += d));
      child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`worker exited ${code}: ${out}`))));
    });
    // Idle: past start-up, heartbeats running, the warm pool loaded.
    const until = Date.now() + WORKER_READY_MS;
    while (warm !== 'none' && !out.includes('warm pool ready') && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    await new Promise((r) => setTimeout(r, 2000));
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const line = /warm pool ready.*objects=(\d+) kernelMiB=([\d.]+) ms=(\d+)/.exec(out);
    const kB = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) * 1024;
    return {
      rss: kB('VmRSS'),
      anon: kB('RssAnon'),
      file: kB('RssFile'),
      ...(line ? { warm: `${line[1]} objects, ${line[2]} MiB kernel memory, loaded in ${line[3]} ms` } : {}),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function cliStartup(): Promise<void> {
  kv('load average (1 min) at start', loadavg()[0]!.toFixed(2));
  const bare: { ms: number; rssBytes: number }[] = [];
  const help: { ms: number; rssBytes: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate which goes first so a burst of load hits both alike.
    const pair =
      i % 2 === 0
        ? [() => bare.push(timed(['node', '-e', '0'])), () => help.push(timed(['node', sherlockBin, '--help']))]
        : [() => help.push(timed(['node', sherlockBin, '--help'])), () => bare.push(timed(['node', '-e', '0']))];
    for (const run of pair) run();
  }
  section(`${RUNS} alternating runs each`);
  const row = (name: string, xs: { ms: number; rssBytes: number }[]) => [name, fmtMs(median(xs.map((x) => x.ms))), fmtMiB(median(xs.map((x) => x.rssBytes)))];
  table(['command', 'median wall', 'median max RSS'], [row('node -e 0', bare), row('sherlock --help', help)], new Set([1, 2]));
  const helpMs = median(help.map((x) => x.ms));
  const helpRss = median(help.map((x) => x.rssBytes));
  kv('sherlock --help / bare node', `${fmtRatio(helpMs / median(bare.map((x) => x.ms)))} time, ${fmtRatio(helpRss / median(bare.map((x) => x.rssBytes)))} RSS`);
  verdict(helpMs <= 150 && helpRss <= 50e6, `--help ${fmtMs(helpMs)}, ${(helpRss / 1e6).toFixed(1)} MB (goal ≤0.15 s, ≤50 MB)`);

  section('idle worker');
  if (missingTracingCapabilities().length) {
    note('skipped: sherlock worker needs root (tracing capabilities)');
    return;
  }
  const variants: Array<[string, string[], string]> = [
    ['node defaults, --warm none', [], 'none'],
    ['--max-semi-space-size=1 (as deployed), --warm none', ['--max-semi-space-size=1'], 'none'],
    ['--max-semi-space-size=1 (as deployed), --warm all (default)', ['--max-semi-space-size=1'], 'all'],
  ];
  let deployed = Number.NaN;
  for (const [label, flags, warm] of variants) {
    const idle = await idleWorkerRss(flags, warm);
    kv(
      `idle worker RSS, ${label}`,
      `${fmtMiB(idle.rss)} (anon ${fmtMiB(idle.anon)}, file ${fmtMiB(idle.file)})${idle.warm ? ` (warm pool: ${idle.warm})` : ''}`,
    );
    if (warm === 'all') deployed = idle.rss;
  }
  verdict(deployed <= 60 * 1024 * 1024, `idle worker as deployed ${fmtMiB(deployed)} (goal ≤60 MiB)`);
  kv('load average (1 min) at end', loadavg()[0]!.toFixed(2));
}
