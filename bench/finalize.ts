// From the last node finishing to the run completed with its findings ready:
// finalizeIfDone over a stored run of 50 nodes × intermittent-latency results
// (report-fixture.ts), at two result sizes, against an embedded redis-server.
// Side by side on the same stored results: with each node's analysis.json (as
// workers store it: finalize merges them) and without (the fallback: finalize
// reads back and analyzes every result); both must give the same findings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient } from '../src/redis/connection.js';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { keys } from '../src/redis/keys.js';
import { analyzeStoredRun } from '../src/runs/findings.js';
import { NODE_ANALYSIS_ARTIFACT } from '../src/runs/node-analysis.js';
import { RunStore } from '../src/runs/store.js';
import type { RunRecord } from '../src/model/run.js';
import { FULL_SIZE, writeFixtureRun, type FixtureSize } from './report-fixture.js';
import { fmtMB, fmtMs, median, note, section, table, verdict } from './report.js';

const TARGET_MS = 500;
const REPEATS = 3;
const SMALL: FixtureSize = { ...FULL_SIZE, execs: 300, stacks: 150, destinations: 10, retransRows: 20, fileRows: 30 };
const HIDDEN = '.hidden';

type Path = 'analysis.json' | 'fallback';

/** Hides (or brings back) every node's analysis.json meta, so finalize takes the fallback path (or not). */
async function showNodeAnalyses(redis: RedisClient, run: RunRecord, show: boolean): Promise<void> {
  const tx = redis.multi();
  for (const node of Object.keys(run.nodes)) {
    const key = keys.artifact(run.id, node, NODE_ANALYSIS_ARTIFACT);
    if (show) tx.rename(key + HIDDEN, key);
    else tx.rename(key, key + HIDDEN);
  }
  await tx.exec();
}

/** One finalization from "every node done, run not yet final", as when the last node reports; its time and findings. */
async function finalizeOnce(redis: RedisClient, store: RunStore, runId: string): Promise<{ ms: number; findings: string }> {
  await redis.hset(keys.run(runId), 'status', 'running');
  await redis.hdel(keys.run(runId), 'finishedAt');
  // The fixture's generated results are garbage by now; an API process would not be collecting them mid-finalize.
  (globalThis as { gc?: () => void }).gc?.();
  const t0 = performance.now();
  const run = await store.finalizeIfDone(runId);
  const ms = performance.now() - t0;
  const findings = await store.getFindings(runId);
  if (run?.status !== 'completed' || !findings) throw new Error('the run did not finalize with findings');
  return { ms, findings: JSON.stringify(findings) };
}

export async function finalizeTime(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-bench-finalize-'));
  const redisServer = await startEmbeddedRedis({ dataDir: dir });
  const redis = connectRedis(redisServer.url, 'bench-finalize');
  const store = new RunStore(redis, { retentionSeconds: 3600 });
  try {
    const rows: string[][] = [];
    const workerMedians: number[] = [];
    for (const [label, size] of [
      ['small results', SMALL],
      ['full results', FULL_SIZE],
    ] as const) {
      const fixture = await writeFixtureRun(redis, size, 5, 3600, { nodeAnalysis: true });
      const { run } = fixture;
      const check = await analyzeStoredRun(redis, run);
      if (check.analyzedHere.size) throw new Error(`finalize did not use the stored analyses: ${JSON.stringify(Object.fromEntries(check.analyzedHere))}`);

      const times: Record<Path, number[]> = { 'analysis.json': [], fallback: [] };
      const seen = new Set<string>();
      // Alternating which path goes first, so drift on a shared machine hits both.
      for (let i = 0; i < REPEATS; i++) {
        const order: Path[] = i % 2 === 0 ? ['analysis.json', 'fallback'] : ['fallback', 'analysis.json'];
        for (const path of order) {
          if (path === 'fallback') await showNodeAnalyses(redis, run, false);
          try {
            const { ms, findings } = await finalizeOnce(redis, store, run.id);
            times[path].push(ms);
            seen.add(findings);
          } finally {
            if (path === 'fallback') await showNodeAnalyses(redis, run, true);
          }
        }
      }
      if (seen.size !== 1) throw new Error(`${label}: the two paths gave different findings`);
      const fast = median(times['analysis.json']);
      const slow = median(times.fallback);
      workerMedians.push(fast);
      rows.push([
        label,
        String(size.nodes),
        fmtMB(fixture.rawBytes / size.nodes),
        fmtMs(fast),
        fmtMs(Math.max(...times['analysis.json'])),
        fmtMs(slow),
        `${(slow / fast).toFixed(1)}×`,
        fmtMs(median(fixture.analysisMs)),
      ]);
    }
    section(`finalizeIfDone (findings computed and stored) over ${FULL_SIZE.nodes} nodes, ${REPEATS} times each path, same findings both ways`);
    table(['results', 'nodes', 'per node', 'analysis.json', 'max', 'fallback', 'fallback/json', 'worker analysis/node'], rows, new Set([1, 2, 3, 4, 5, 6, 7]));
    note(
      "analysis.json: each worker stored its node's analysis; finalize merges them. fallback: none stored (crashed or older workers), every result is read back and analyzed in the API.",
    );
    note('worker analysis/node: what each worker spends analyzing its own results after storing them (before it reports done).');
    const worst = Math.max(...workerMedians);
    verdict(worst <= TARGET_MS, `median ${fmtMs(worst)} at worst with workers' analysis.json vs ≤${TARGET_MS} ms; the fallback path is listed beside it`);
  } finally {
    redis.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
