// From the last node finishing to the run completed with its findings ready:
// finalizeIfDone over a stored run of 50 nodes × intermittent-latency results
// (report-fixture.ts), at two result sizes, against an embedded redis-server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectRedis } from '../src/redis/connection.js';
import { startEmbeddedRedis } from '../src/redis/embedded.js';
import { keys } from '../src/redis/keys.js';
import { RunStore } from '../src/runs/store.js';
import { FULL_SIZE, writeFixtureRun, type FixtureSize } from './report-fixture.js';
import { fmtMB, fmtMs, median, section, table, verdict } from './report.js';

const TARGET_MS = 500;
const REPEATS = 3;
const SMALL: FixtureSize = { ...FULL_SIZE, execs: 300, stacks: 150, destinations: 10, retransRows: 20, fileRows: 30 };

export async function finalizeTime(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-bench-finalize-'));
  const redisServer = await startEmbeddedRedis({ dataDir: dir });
  const redis = connectRedis(redisServer.url, 'bench-finalize');
  const store = new RunStore(redis, { retentionSeconds: 3600 });
  try {
    const rows: string[][] = [];
    let smallMedian = Number.NaN;
    for (const [label, size] of [['small results', SMALL], ['full results', FULL_SIZE]] as const) {
      const fixture = await writeFixtureRun(redis, size);
      const times: number[] = [];
      for (let i = 0; i < REPEATS; i++) {
        // Back to "every node done, run not yet final", as when the last node reports.
        await redis.hset(keys.run(fixture.run.id), 'status', 'running');
        await redis.hdel(keys.run(fixture.run.id), 'finishedAt');
        const t0 = performance.now();
        const run = await store.finalizeIfDone(fixture.run.id);
        times.push(performance.now() - t0);
        if (run?.status !== 'completed' || !(await store.getFindings(fixture.run.id))) throw new Error('the run did not finalize with findings');
      }
      if (label === 'small results') smallMedian = median(times);
      rows.push([label, String(size.nodes), fmtMB(fixture.rawBytes / size.nodes), fmtMs(median(times)), fmtMs(Math.max(...times))]);
    }
    section(`finalizeIfDone (findings computed and stored) over ${FULL_SIZE.nodes} nodes, ${REPEATS} times each`);
    table(['results', 'nodes', 'per node', 'median', 'max'], rows, new Set([1, 2, 3, 4]));
    verdict(smallMedian <= TARGET_MS, `median ${fmtMs(smallMedian)} with small results vs ≤${TARGET_MS} ms; large results take longer (every node's JSON is parsed in the API)`);
  } finally {
    redis.disconnect();
    await redisServer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
