// A worker's memory over one big run: the node job of a run with 16 opensnoop
// steps (maxEvents 1M each, 64 MiB rings, one shared window), run by the
// worker's own code (runNodeJob: capture, store to Redis, analyze) in a fresh
// process that samples its RSS every 50 ms, under an open storm from a C
// helper (every step sees every open). Side by side, each in a fresh process:
// a light and a heavy storm under the default load.workerEventMemoryMiB (32),
// and the light storm with no budget at all (what the worker did before).
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { keys } from '../src/redis/keys.js';
import { RunStore } from '../src/runs/store.js';
import { runNodeJob } from '../src/worker/run-node-job.js';
import { DEFAULT_WORKER_EVENT_SPOOL_MIB } from '../src/model/limits.js';
import { setLogLevel } from '../src/util/logger.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMB, fmtMiB, kv, note, section, table, verdict } from './report.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const CHILD_FLAG = '--worker-run-memory-child';
const STEPS = 16;
const WINDOW_MS = 6_000;
const SAMPLE_MS = 50;
const TARGET_GROWTH_BYTES = 200e6;

/** Opens a missing path N times as fast as it can (ENOENT each); prints how many. */
const OPEN_STORM_C = String.raw`
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
  long n = atol(argv[1]);
  char path[64];
  long done = 0;
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "/nonexistent-sherlock-bench/%ld", i);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) close(fd);
    done++;
  }
  printf("%ld\n", done);
  return 0;
}
`;

interface ChildReport {
  /** RSS, all of it: with the ring buffers' mapped pages. */
  baseline: number;
  peak: number;
  after: number;
  /** RssAnon: the process's own memory (heap, buffers), without mapped kernel pages. */
  anonBaseline: number;
  anonPeak: number;
  opens: number;
  events: number;
  dropped: number;
  truncated: number;
  storedBytes: number;
  status: string;
}

async function settle(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** RssAnon of this process (bytes): its own memory, not the BPF ring buffers mapped into it. */
function rssAnon(): number {
  const line = readFileSync('/proc/self/status', 'utf8').match(/^RssAnon:\s+(\d+) kB/m);
  return line ? Number(line[1]) * 1024 : 0;
}

/** Inside the fresh process: one node job, sampled. */
async function measure(redisUrl: string, storm: string, opens: number, budgetMiB: number | undefined): Promise<ChildReport> {
  setLogLevel('error');
  const redis = connectRedis(redisUrl, 'bench-worker-run');
  const store = new RunStore(redis, { retentionSeconds: 600 });
  const runId = randomUUID();
  const steps = Array.from({ length: STEPS }, () => ({ capture: 'opensnoop', params: { maxEvents: 1_000_000, ringBufferMiB: 64 } }));
  await store.create(runId, { steps, durationMs: WINDOW_MS, target: {}, nodes: ['bench'] }, 'bench');
  await settle();
  const baseline = process.memoryUsage().rss;
  const anonBaseline = rssAnon();
  let peak = baseline;
  let anonPeak = anonBaseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
    anonPeak = Math.max(anonPeak, rssAnon());
  }, SAMPLE_MS);
  let load: Promise<TimedRun> | undefined;
  // The storm starts once every step is live.
  const watcher = setInterval(() => {
    void redis.xrange(keys.runEvents(runId), '-', '+').then((entries) => {
      const live = entries.filter(([, f]) => (JSON.parse(f[1]!) as { type: string }).type === 'capture-live').length;
      if (live >= STEPS && !load) {
        clearInterval(watcher);
        load = runTimed(storm, [String(opens)], { timeoutMs: WINDOW_MS + 60_000 });
        load.catch(() => {});
      }
    });
  }, 20);
  try {
    const state = await runNodeJob(
      { runId, node: 'bench', steps, durationMs: WINDOW_MS, target: {}, cpuBudgetPercent: 100 },
      { redis, store, retentionSeconds: 600, ...(budgetMiB !== undefined ? { eventMemoryBytes: budgetMiB * 1024 * 1024 } : {}) },
    );
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    anonPeak = Math.max(anonPeak, rssAnon());
    const run = await load;
    await settle();
    const caps = state.captures ?? [];
    return {
      baseline,
      peak,
      after: process.memoryUsage().rss,
      anonBaseline,
      anonPeak,
      opens: Number((run?.stdout ?? '0').trim()),
      events: caps.reduce((n, c) => n + c.count, 0),
      dropped: caps.reduce((n, c) => n + c.dropped, 0),
      truncated: caps.filter((c) => c.truncated).length,
      storedBytes: caps.reduce((n, c) => n + (c.bytes ?? 0), 0),
      status: `${state.status}${state.error ? `: ${state.error}` : ''}`,
    };
  } finally {
    clearInterval(sampler);
    clearInterval(watcher);
    await load?.catch(() => undefined);
    const keysLeft = await redis.keys(`${keys.run(runId)}*`);
    if (keysLeft.length) await redis.del(...keysLeft);
    redis.disconnect();
  }
}

export async function workerRunMemory(): Promise<void> {
  const tmp = new TempDir('worker-run');
  const dataDir = mkdtempSync(join(tmpdir(), 'sherlock-bench-worker-run-'));
  const redis = await startEmbeddedRedis({ dataDir });
  try {
    const storm = tmp.compileC('open-storm', OPEN_STORM_C);
    const cases: { label: string; opens: number; budget: number | undefined }[] = [
      { label: `20k opens, budget ${DEFAULT_WORKER_EVENT_SPOOL_MIB} MiB`, opens: 20_000, budget: DEFAULT_WORKER_EVENT_MEMORY_MIB },
      { label: `400k opens, budget ${DEFAULT_WORKER_EVENT_SPOOL_MIB} MiB`, opens: 400_000, budget: DEFAULT_WORKER_EVENT_MEMORY_MIB },
      { label: '20k opens, no budget (before)', opens: 20_000, budget: undefined },
    ];
    const reports: ChildReport[] = [];
    for (const c of cases) {
      const args = ['--expose-gc', fileURLToPath(import.meta.url), CHILD_FLAG, redis.url, storm, String(c.opens), String(c.budget ?? 'none')];
      const run = await runTimed(process.execPath, args, { timeoutMs: 180_000 });
      const line = run.stdout.trim().split('\n').at(-1) ?? '';
      if (run.code !== 0 || !line.startsWith('{')) throw new Error(`measuring process failed (${c.label}): exit ${run.code ?? run.signal}`);
      reports.push(JSON.parse(line) as ChildReport);
    }
    section(`one node job: ${STEPS} × opensnoop (maxEvents 1M, 64 MiB ring), ${WINDOW_MS / 1000} s window, stored and analyzed; fresh process each`);
    table(
      ['case', 'opens', 'events kept', 'dropped', 'truncated', 'stored', 'anon idle', 'anon peak', 'anon growth', 'RSS growth', 'RSS after gc'],
      cases.map((c, i) => {
        const r = reports[i]!;
        return [
          c.label,
          fmtCount(r.opens),
          fmtCount(r.events),
          fmtCount(r.dropped),
          `${r.truncated}/${STEPS}`,
          fmtMB(r.storedBytes),
          fmtMiB(r.anonBaseline),
          fmtMiB(r.anonPeak),
          fmtMiB(r.anonPeak - r.anonBaseline),
          fmtMiB(r.peak - r.baseline),
          fmtMiB(r.after),
        ];
      }),
      new Set([1, 2, 3, 5, 6, 7, 8, 9, 10]),
    );
    for (const [i, r] of reports.entries()) if (!r.status.startsWith('completed')) kv(`node status, ${cases[i]!.label}`, r.status);
    const [light, heavy, unbounded] = reports as [ChildReport, ChildReport, ChildReport];
    const growth = (r: ChildReport) => r.anonPeak - r.anonBaseline;
    kv(
      'growth, heavy vs light storm (budget)',
      `${(growth(heavy) / Math.max(1, growth(light))).toFixed(2)}× for ${((heavy.events + heavy.dropped) / Math.max(1, light.events + light.dropped)).toFixed(2)}× the events seen`,
    );
    note('events seen = kept + dropped (all reasons); opens the storm made after the window closed are not seen');
    kv('growth, no budget vs budget (light storm)', `${(growth(unbounded) / Math.max(1, growth(light))).toFixed(2)}×`);
    note("anon = RssAnon, the worker's own memory; RSS also counts the ring buffers' kernel pages, mapped at attach:");
    note(`each BPF ring buffer's data pages are mapped twice (wrap-around), so ${STEPS} × 64 MiB rings add ~${(STEPS * 128) / 1024} GiB of RSS`);
    note("that is the rings' own memory (locked kernel memory, set by ringBufferMiB), whatever the event count; smaller rings shrink it");
    verdict(
      growth(heavy) <= TARGET_GROWTH_BYTES,
      `worker's own memory (RssAnon) growth over idle ${fmtMB(growth(heavy))} with ${fmtCount(heavy.events + heavy.dropped)} events seen by the captures vs ≤${fmtMB(TARGET_GROWTH_BYTES)}`,
    );
  } finally {
    await redis.stop();
    rmSync(dataDir, { recursive: true, force: true });
    tmp.remove();
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] === fileURLToPath(import.meta.url)) {
  const [redisUrl, storm, opens, budget] = process.argv.slice(3);
  if (!redisUrl || !storm || !opens || !budget) throw new Error(`${CHILD_FLAG} needs the Redis URL, the storm helper, the open count and the budget`);
  measure(redisUrl, storm, Number(opens), budget === 'none' ? undefined : Number(budget)).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
