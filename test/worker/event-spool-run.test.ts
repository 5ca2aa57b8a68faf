// A worker's node job with event captures, on the real kernel and a real
// redis-server: the events spool to disk while the window is open, every one
// of them comes back in the report bundle's NDJSON, in the stored JSON and in
// the worker's own analysis, and the run's spool directory is gone when the
// job ends: stored, or failed (Redis went away); a dead worker's is removed
// when a worker starts.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { readArtifact } from '../../src/redis/artifacts.js';
import { keys } from '../../src/redis/keys.js';
import { createReportBundle } from '../../src/report/bundle.js';
import { RunStore } from '../../src/runs/store.js';
import { runNodeJob } from '../../src/worker/run-node-job.js';
import { removeStaleSpools } from '../../src/worker/run-spool.js';
import type { NodeJobData } from '../../src/model/run.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';
import { unpack } from '../report/unpack.js';

const skip = kernelSkipReason();
const NODE = 'spool-node';

/** Opens a missing path under `dir` `count` times (ENOENT each), killed past 30 s. */
function openStorm(dir: string, count: number): Promise<number | null> {
  const script = `const fs=require('node:fs');for(let i=0;i<${count};i++){try{fs.openSync(${JSON.stringify(join(dir, 'missing'))}+i,'r')}catch{}}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Bytes in the spool files under `root` now (a directory removed while listed counts as empty). */
function spooled(root: string): number {
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  let n = 0;
  for (const dir of list(root)) for (const f of list(join(root, dir))) n += statSync(join(root, dir, f), { throwIfNoEntry: false })?.size ?? 0;
  return n;
}

describe.skipIf(skip)(`a node job's events spooled to disk${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: TestRedis;
  let client: RedisClient;
  let store: RunStore;
  let dir = '';
  let spoolRoot = '';
  const runIds: string[] = [];

  beforeAll(async () => {
    redis = await startTestRedis();
    client = connectRedis(redis.url, 'test-spool-run');
    store = new RunStore(client, { retentionSeconds: 600 });
  });
  afterAll(async () => {
    for (const runId of runIds) {
      const left = await client.keys(`${keys.run(runId)}*`);
      if (left.length) await client.del(...left);
    }
    client?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-spool-run-'));
    spoolRoot = mkdtempSync(join(tmpdir(), 'sherlock-spool-root-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(spoolRoot, { recursive: true, force: true });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  /** A run of these steps, its job, and a promise that resolves once every step is live. */
  async function plan(steps: NodeJobData['steps'], durationMs: number) {
    const runId = randomUUID();
    runIds.push(runId);
    await store.create(runId, { steps, durationMs, target: {}, nodes: [NODE] }, 'test');
    const live = (async () => {
      for (let i = 0; i < 1000; i++) {
        const entries = await client.xrange(keys.runEvents(runId), '-', '+');
        if (entries.filter(([, f]) => (JSON.parse(f[1]!) as { type: string }).type === 'capture-live').length >= steps.length) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error('the steps never went live');
    })();
    const job: NodeJobData = { runId, node: NODE, steps, durationMs, target: {}, cpuBudgetPercent: 100 };
    return { runId, job, live };
  }

  it('spools while capturing and stores every event in the bundle, the JSON and the analysis; the spool is gone after', async () => {
    const opens = 30_000;
    const steps = [
      { capture: 'opensnoop', params: { maxEvents: 1_000_000, ringBufferMiB: 64 } },
      { capture: 'execsnoop', params: {} },
    ];
    const { runId, job, live } = await plan(steps, 6_000);
    let peakSpooled = 0;
    // Sampled until the job ends: the storm is over in well under the window, and its events are all
    // on disk (drained and written) before the window closes and they are stored.
    const sampler = setInterval(() => (peakSpooled = Math.max(peakSpooled, spooled(spoolRoot))), 100);
    const during = live.then(() => openStorm(dir, opens));
    const state = await runNodeJob(job, { redis: client, store, retentionSeconds: 600, spoolRoot, eventSpoolBytes: 1024 * 1024 * 1024 }).finally(() =>
      clearInterval(sampler),
    );
    await during;
    expect(state.status).toBe('completed');
    expect(readdirSync(spoolRoot)).toEqual([]); // removed once stored
    // On disk while the window was open: more than a capture ever holds in memory.
    expect(peakSpooled).toBeGreaterThan(4 * 1024 * 1024);

    const summary = state.captures!.find((c) => c.capture === 'opensnoop')!;
    expect(summary.truncated).toBeUndefined();
    expect(summary.count).toBeGreaterThanOrEqual(opens);

    // The bundle: <capture>.ndjson holds every event, the JSON names it with the count.
    const run = (await store.get(runId))!;
    const bundle = await createReportBundle({ redis: client, run });
    const entries = await unpack(bundle.stream);
    await bundle.done;
    const path = (name: string) => [...entries.keys()].find((k) => k.endsWith(`/${name}`))!;
    const ndjson = entries.get(path('opensnoop.ndjson'))!.data.toString().trim().split('\n');
    expect(ndjson).toHaveLength(summary.count);
    const ours = ndjson.filter((l) => l.includes(dir) && l.includes('"ENOENT"')).length;
    expect(ours).toBe(opens);
    const json = JSON.parse(entries.get(path('opensnoop.json'))!.data.toString()) as { eventCount: number; eventsFile: string; durationMs: number };
    expect(json).toMatchObject({ eventCount: summary.count, eventsFile: 'opensnoop.ndjson' });

    // The stored JSON (what finalize's fallback reads) has them all in `events`.
    const stored = await readArtifact(client, runId, { node: NODE, name: 'opensnoop.json' });
    expect(Buffer.isBuffer(stored)).toBe(true);
    const result = JSON.parse((stored as Buffer).toString()) as { events: { path: string }[]; capture: string };
    expect(result.capture).toBe('opensnoop');
    expect(result.events).toHaveLength(summary.count);
    expect(result.events.filter((e) => e.path.startsWith(dir))).toHaveLength(opens);

    // The worker's own analysis read them all, streaming.
    const analysis = JSON.parse(((await readArtifact(client, runId, { node: NODE, name: 'analysis.json' })) as Buffer).toString()) as {
      part: { checked: { capture: string; what: string }[] };
    };
    const checked = analysis.part.checked.find((c) => c.capture === 'opensnoop')!.what;
    expect(checked).toContain(`${summary.count.toLocaleString('en-US')} opens`);
  }, 120_000);

  it('with afterReport (as a worker runs it), hands on the spool removal and the probe detaches: the job ends before them', async () => {
    const steps = [{ capture: 'execsnoop', params: {} }];
    const { job } = await plan(steps, 500);
    const handed: Promise<void>[] = [];
    const state = await runNodeJob(job, { redis: client, store, retentionSeconds: 600, spoolRoot, afterReport: (work) => handed.push(work) });
    expect(state.status).toBe('completed');
    // One for the capture's probes, one for the spool directory, which may still be on disk now.
    expect(handed).toHaveLength(2);
    await Promise.all(handed);
    expect(readdirSync(spoolRoot)).toEqual([]);
  }, 30_000);

  it('stops a capture at its spool share with the reason, and the run completes with what it kept', async () => {
    const steps = [{ capture: 'opensnoop', params: { maxEvents: 1_000_000, ringBufferMiB: 16 } }];
    const { job, live } = await plan(steps, 3_000);
    const during = live.then(() => openStorm(dir, 10_000));
    const state = await runNodeJob(job, { redis: client, store, retentionSeconds: 600, spoolRoot, eventSpoolBytes: 512 * 1024 });
    await during;
    expect(state.status).toBe('completed');
    const summary = state.captures![0]!;
    expect(summary.truncated).toMatchObject({ reason: 'spool-budget', limit: 512 * 1024, keptEvents: summary.count });
    expect(summary.truncated!.droppedEvents).toBeGreaterThan(1_000);
    expect(readdirSync(spoolRoot)).toEqual([]);
  }, 60_000);

  it('removes the spool when the job fails (Redis gone before the results are stored)', async () => {
    const steps = [{ capture: 'opensnoop', params: { maxEvents: 1_000_000, ringBufferMiB: 16 } }];
    const { job, live } = await plan(steps, 2_000);
    const jobClient = connectRedis(redis.url, 'test-spool-run-failing');
    const jobStore = new RunStore(jobClient, { retentionSeconds: 600 });
    let spooledWhileLive = 0;
    const during = live.then(async () => {
      await openStorm(dir, 5_000);
      // The storm's last events may still sit in the ring or the spool's write buffer: wait for
      // them on disk (bounded, well inside the 2 s window) before Redis goes.
      for (const until = Date.now() + 1_000; (spooledWhileLive = spooled(spoolRoot)) === 0 && Date.now() < until; ) await sleep(20);
      jobClient.disconnect(); // every later write of the job fails
    });
    try {
      await expect(runNodeJob(job, { redis: jobClient, store: jobStore, retentionSeconds: 600, spoolRoot })).rejects.toThrow();
      await during;
    } finally {
      jobClient.disconnect();
    }
    expect(spooledWhileLive).toBeGreaterThan(0);
    expect(readdirSync(spoolRoot)).toEqual([]);
  }, 60_000);

  it("removes a dead worker's spool directories when a worker starts, and keeps a live one's", () => {
    const dead = spawn('/bin/true');
    const deadPid = dead.pid!;
    return new Promise<void>((resolve) => dead.once('exit', () => resolve())).then(() => {
      mkdirSync(join(spoolRoot, `sherlock-spool-${deadPid}-run-a-x1`));
      mkdirSync(join(spoolRoot, `sherlock-spool-${process.pid}-run-b-x2`));
      mkdirSync(join(spoolRoot, 'unrelated'));
      expect(removeStaleSpools(spoolRoot)).toBe(1);
      expect(readdirSync(spoolRoot).sort()).toEqual(['sherlock-spool-' + process.pid + '-run-b-x2', 'unrelated'].sort());
    });
  });
});
