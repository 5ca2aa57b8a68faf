// Finalize from the workers' analysis.json files against a real Redis: the
// findings equal those of reading every result back (the fallback), node by
// node fallback when a node's file is missing, corrupt, of another format or
// made for other captures or settings, and finalizeIfDone stores the same.
import { gzipSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../../src/redis/connection.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/analysis/types.js';
import type { CaptureResult } from '../../src/captures/capture.js';
import { connectRedis } from '../../src/redis/connection.js';
import { keys } from '../../src/redis/keys.js';
import { putArtifact } from '../../src/redis/artifacts.js';
import { analyzeStoredRun } from '../../src/runs/findings.js';
import {
  analyzeNodeResults,
  NODE_ANALYSIS_ARTIFACT,
  parseNodeAnalysis,
  storeNodeAnalysis,
  type NodeAnalysis,
  type StoredResult,
} from '../../src/runs/node-analysis.js';
import { RunStore } from '../../src/runs/store.js';
import type { CaptureSummary, RunRecord } from '../../src/model/run.js';
import { histogram, result } from '../analysis/fixtures.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

const TTL = 600;
const NODES = ['a', 'b', 'c'];

/** Each node's results: a slow destination, a quiet one, dropped execs on b, a profile with a hot function. */
function resultsOf(node: string, i: number): CaptureResult[] {
  return [
    result('tcpconnlat', {
      histograms: [
        { labels: { destination: `10.0.0.${i}:5432` }, histogram: histogram({ 6: 6, [17 + i]: 3 }) },
        { labels: { destination: '10.0.9.9:80' }, histogram: histogram({ 6: 40 }) },
      ],
      slowest: [],
      failures: [],
    }),
    result('execsnoop', { events: [] }, node === 'b' ? { dropped: 12, drops: { event_cap: 12 } } : {}),
    result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 500, [12 + i]: 20 }) }], groupBy: 'process', top: 10 }),
  ];
}

describe("finalize from the nodes' analysis.json", () => {
  let redis: TestRedis;
  let conn: RedisClient;
  let store: RunStore;

  beforeAll(async () => {
    redis = await startTestRedis();
    conn = connectRedis(redis.url, 'test-node-analysis');
    store = new RunStore(conn, { retentionSeconds: TTL });
  });

  afterAll(async () => {
    conn?.disconnect();
    await redis?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  /** A run whose nodes all completed, with their results stored as workers store them; analysis.json for `withAnalysis` nodes. */
  async function storedRun(withAnalysis: string[] = NODES): Promise<{ run: RunRecord; analyses: Map<string, NodeAnalysis> }> {
    const id = randomUUID();
    await store.create(id, { runbook: 'intermittent-latency', steps: [], durationMs: 6000, target: { comm: 'checkout' }, nodes: NODES }, 'test');
    const planned = (await store.get(id))!;
    const analyses = new Map<string, NodeAnalysis>();
    for (const [i, node] of NODES.entries()) {
      const stored: StoredResult[] = [];
      const captures: CaptureSummary[] = [];
      for (const r of resultsOf(node, i)) {
        const artifact = `${r.capture}.json`;
        const meta = await putArtifact(conn, { runId: id, node, name: artifact, contentType: 'application/json', ttlSeconds: TTL }, JSON.stringify(r));
        stored.push({ artifact, bytes: meta.bytes, result: r });
        captures.push({
          capture: r.capture,
          kind: r.kind,
          count: 0,
          dropped: r.dropped,
          bpfCpuNs: 0,
          durationMs: r.durationMs,
          cancelled: false,
          artifact,
          bytes: meta.bytes,
        });
      }
      // A capture that failed has no artifact: neither path reads it.
      captures.push({
        capture: 'biolatency',
        kind: 'histogram',
        count: 0,
        dropped: 0,
        bpfCpuNs: 0,
        durationMs: 0,
        cancelled: false,
        error: 'no block devices',
      });
      const analysis = await analyzeNodeResults(planned, node, stored);
      analyses.set(node, analysis);
      if (withAnalysis.includes(node)) await storeNodeAnalysis(conn, id, analysis, TTL);
      await store.setNodeState(id, node, { status: 'completed', startedAt: planned.createdAt, finishedAt: new Date().toISOString(), captures });
    }
    return { run: (await store.get(id))!, analyses };
  }

  const json = (findings: Finding[]) => JSON.stringify(findings);

  /** The findings with no analysis.json anywhere: every result read back. */
  async function fallbackFindings(run: RunRecord): Promise<string> {
    const hidden = NODES.map((n) => keys.artifact(run.id, n, NODE_ANALYSIS_ARTIFACT));
    const saved = await Promise.all(hidden.map((k) => conn.getBuffer(k)));
    await conn.del(...hidden);
    try {
      const { findings, analyzedHere } = await analyzeStoredRun(conn, run);
      expect([...analyzedHere.keys()].sort()).toEqual(NODES);
      return json(findings);
    } finally {
      await Promise.all(hidden.flatMap((k, i) => (saved[i] ? [conn.set(k, saved[i]!, 'EX', TTL)] : [])));
    }
  }

  it("a worker reads the run without its nodes' states nor the plan's node list (getPlanned); the rest is the record", async () => {
    const { run } = await storedRun([]);
    expect(Object.keys(run.nodes).sort()).toEqual([...NODES].sort());
    expect(run.plan.nodes.length).toBe(NODES.length);
    expect(await store.getPlanned(run.id)).toEqual({ ...run, plan: { ...run.plan, nodes: [] }, nodes: {} });
    expect(await store.get(run.id)).toEqual(run);
    // A record stored before the list was kept apart (inside its plan) reads the same.
    await conn.hset(keys.run(run.id), 'plan', JSON.stringify(run.plan));
    await conn.hdel(keys.run(run.id), 'planNodes');
    expect(await store.get(run.id)).toEqual(run);
    expect((await store.getPlanned(run.id))!.plan).toEqual(run.plan);
    expect(await store.getPlanned('no-such-run')).toBeUndefined();
  });

  it("every node stored its analysis: nothing is read back, and the findings and baseline numbers equal the fallback's", async () => {
    const { run } = await storedRun();
    const fromWorkers = await analyzeStoredRun(conn, run);
    expect(fromWorkers.analyzedHere.size).toBe(0);
    const fallback = await fallbackFindings(run);
    expect(json(fromWorkers.findings)).toBe(fallback);
    // Something to compare: slow connects on every node, b's dropped execs, the failed biolatency.
    expect(
      fromWorkers.findings
        .filter((f) => f.capture === 'tcpconnlat' && f.severity !== 'info')
        .map((f) => f.node)
        .sort(),
    ).toEqual(NODES);
    expect(fromWorkers.findings.some((f) => f.id === 'execsnoop:b:dropped')).toBe(true);
    expect(fromWorkers.findings.some((f) => f.id === 'biolatency:a:did-not-run')).toBe(true);

    await conn.del(...NODES.map((n) => keys.artifact(run.id, n, NODE_ANALYSIS_ARTIFACT)));
    const central = await analyzeStoredRun(conn, run);
    expect([...central.metrics]).toEqual([...fromWorkers.metrics]);
    expect(fromWorkers.metrics.get('a')!.map((m) => m.metric)).toEqual([
      'p99 connect latency to 10.0.9.9:80',
      'p99 connect latency to 10.0.0.0:5432',
      'p99 run-queue latency',
    ]);
  });

  it('a stored analysis is what finalize merges (a marker finding in it comes through)', async () => {
    const { run, analyses } = await storedRun(['a', 'c']);
    const marked = structuredClone(analyses.get('b')!);
    marked.part.findings.push({ id: 'marker:b', severity: 'info', title: 'from the worker', node: 'b', capture: '*', evidence: {}, file: '', score: 0 });
    await storeNodeAnalysis(conn, run.id, marked, TTL);
    const { findings, analyzedHere } = await analyzeStoredRun(conn, run);
    expect(analyzedHere.size).toBe(0);
    expect(findings.some((f) => f.id === 'marker:b')).toBe(true);
  });

  it('a stored analysis keeps every link of its findings (how causes chain and which leads)', async () => {
    const { analyses } = await storedRun(['a', 'c']);
    const marked = structuredClone(analyses.get('b')!);
    const links = { shows: ['runq-pid:7'], explains: ['restarts:x'], onlyAsCause: true, leads: true };
    marked.part.findings.push({ id: 'marker:b', severity: 'info', title: 'linked', node: 'b', capture: '*', evidence: {}, file: '', score: 0, links });
    const parsed = parseNodeAnalysis(JSON.parse(JSON.stringify(marked)));
    expect(typeof parsed === 'string' ? parsed : parsed.part.findings.find((f) => f.id === 'marker:b')?.links).toEqual(links);
  });

  const bKey = (run: RunRecord) => keys.artifact(run.id, 'b', NODE_ANALYSIS_ARTIFACT);
  /** Stores `content` as b's analysis.json, whatever it holds. */
  const putAsB = (run: RunRecord, content: unknown) =>
    putArtifact(conn, { runId: run.id, node: 'b', name: NODE_ANALYSIS_ARTIFACT, contentType: 'application/json', ttlSeconds: TTL }, JSON.stringify(content));
  const broken: [string, (run: RunRecord, a: NodeAnalysis) => Promise<unknown>, RegExp][] = [
    ['missing', (run) => conn.del(bKey(run)), /there is none/],
    ['not gzip', (run) => conn.set(`${bKey(run)}:0`, 'not gzip at all'), /it is corrupt: /],
    ['not JSON', (run) => conn.set(`${bKey(run)}:0`, gzipSync('{"format": 1,')), /it is corrupt: /],
    ['with corrupt metadata', (run) => conn.set(bKey(run), '{{'), /metadata is corrupt/],
    ['of another format', (run, a) => putAsB(run, { ...a, format: 1 }), /its format is 1, this server reads 2/],
    ['without a format', (run, a) => putAsB(run, { ...a, format: undefined }), /its format is undefined/],
    ['not an object', (run) => putAsB(run, null), /its format is undefined/],
    [
      'of the right format but the wrong shape',
      (run, a) => putAsB(run, { ...a, part: { ...a.part, findings: [{ id: 1 }] } }),
      /malformed \(part\.findings\.0\.id: /,
    ],
    ['of another node', (run, a) => putAsB(run, { ...a, node: 'a' }), /node a's/],
    ['made from other captures', (run, a) => putAsB(run, { ...a, artifacts: a.artifacts.slice(1) }), /other captures/],
    ['made with other settings', (run, a) => putAsB(run, { ...a, settings: 'other' }), /other thresholds, rules or window/],
    ['expired half-way', (run) => conn.del(`${bKey(run)}:0`), /missing \(expired\)/],
  ];

  it.each(broken)('a node whose analysis.json is %s falls back to its results alone; the findings stay the same', async (_, breakIt, why) => {
    const { run, analyses } = await storedRun(['a', 'c']);
    // b's analysis with a marker: were it merged, the marker would show.
    const marked = structuredClone(analyses.get('b')!);
    marked.part.findings.push({ id: 'marker:b', severity: 'info', title: 'from the worker', node: 'b', capture: '*', evidence: {}, file: '', score: 0 });
    await storeNodeAnalysis(conn, run.id, marked, TTL);
    await breakIt(run, marked);
    const { findings, analyzedHere } = await analyzeStoredRun(conn, run);
    expect([...analyzedHere.keys()]).toEqual(['b']);
    expect(analyzedHere.get('b')).toMatch(why);
    expect(findings.some((f) => f.id === 'marker:b')).toBe(false);
    expect(json(findings)).toBe(await fallbackFindings(run));
  });

  it('finalizeIfDone stores the findings the fallback would give, and the run completes', async () => {
    const { run } = await storedRun(['a', 'b']);
    const expected = await fallbackFindings(run);
    const done = await store.finalizeIfDone(run.id);
    expect(done?.status).toBe('completed');
    expect(json((await store.getFindings(run.id))!)).toBe(expected);
  });

  it('a finalize that saw a node still queued does not settle the run when that node is cancelled meanwhile: the cancel settles it, with findings', async () => {
    const id = randomUUID();
    await store.create(id, { runbook: 'intermittent-latency', steps: [], durationMs: 6000, target: {}, nodes: ['q'] }, 'test');
    // The same Redis, with a cancel of the queued node landing between the finalize job's read and its settle script.
    let cancelledMeanwhile = false;
    const racing = new RunStore(
      new Proxy(conn, {
        get(target, prop) {
          if (prop === 'evalsha' && !cancelledMeanwhile)
            return async (...args: unknown[]) => {
              cancelledMeanwhile = true;
              await store.cancelQueuedNode(id, 'q');
              return (target.evalsha as (...a: unknown[]) => Promise<unknown>)(...args);
            };
          const value: unknown = Reflect.get(target, prop);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
      { retentionSeconds: TTL },
    );
    expect((await racing.finalizeIfDone(id))?.status).not.toMatch(/completed|partial|failed|cancelled/);
    // The cancel's own finalize (core/runs.ts cancel) comes after its transition.
    if (!cancelledMeanwhile) await store.cancelQueuedNode(id, 'q');
    const settled = await store.finalizeIfDone(id);
    expect(settled?.status).toBe('partial');
    expect(await store.getFindings(id)).toBeDefined();
    expect(await store.getBaselineComparison(id)).toBeDefined();
  });
});
