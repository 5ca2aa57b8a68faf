// A run's analysis made node by node apart (as workers do), passed through
// JSON (as analysis.json is stored) and merged, gives what analyzeRun gives
// over every result at once: same findings, same order, same wording.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeRun, RunAnalysis, type NodeResult } from '../../src/runs/analyze-run.js';
import type { CaptureResult } from '../../src/captures/capture.js';
import { expandRunbook } from '../../src/runbooks/expand.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import type { RunRecord } from '../../src/model/run.js';
import { projectRoot } from '../../src/util/paths.js';
import { conn, exec, histogram, on, result, run } from './fixtures.js';

/** Each node's part made by its own RunAnalysis, through JSON, merged in node order. */
function mergedParts(r: RunRecord, results: NodeResult[]) {
  const byNode = new Map<string, NodeResult[]>();
  for (const item of results) byNode.set(item.node, [...(byNode.get(item.node) ?? []), item]);
  const merged = new RunAnalysis({ run: r });
  for (const nodeResults of byNode.values()) {
    const part = new RunAnalysis({ run: r }).analyzeNode(nodeResults);
    merged.addPart(JSON.parse(JSON.stringify(part)));
  }
  return merged.finish();
}

const json = (x: unknown) => JSON.stringify(x);
const slow = (destination: string, slot: number) =>
  result('tcpconnlat', { histograms: [{ labels: { destination }, histogram: histogram({ 6: 6, [slot]: 3 }) }], slowest: [], failures: [] });
const quiet = (node: string): NodeResult[] => [
  on(result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 500 }) }], groupBy: 'process', top: 10 }), node),
  on(result('execsnoop', { events: [] }), node),
];

describe('a run analyzed node by node, then merged', () => {
  it('findings across nodes, dropped events and unreadable files: the same as analyzeRun', () => {
    const r = run({}, ['a', 'b', 'c']);
    const results: NodeResult[] = [
      on(slow('10.0.0.1:1', 17), 'a'),
      { node: 'a', capture: 'profile', error: 'it is corrupt: incorrect header check' },
      on(slow('10.0.0.2:2', 21), 'b'),
      on(result('execsnoop', { events: [] }, { dropped: 12, drops: { event_cap: 12 } }), 'b'),
      ...quiet('c'),
    ];
    const central = analyzeRun({ run: r, results });
    expect(central.length).toBeGreaterThan(3);
    expect(json(mergedParts(r, results))).toBe(json(central));
  });

  it('a quiet run: one "No problems found" listing what was checked in the same order', () => {
    const r = run({}, ['a', 'b']);
    r.nodes.b = { status: 'cancelled' };
    const results = [...quiet('a'), ...quiet('b')];
    const central = analyzeRun({ run: r, results });
    expect(central).toHaveLength(1);
    expect(json(mergedParts(r, results))).toBe(json(central));
  });

  it("the rules of suspicious-activity see each node's execs, opens and connects together", () => {
    const catalog = RunbookCatalog.load(join(projectRoot, 'runbooks'));
    const plan = expandRunbook(catalog, { runbook: 'suspicious-activity' });
    const r = run({ runbook: 'suspicious-activity', params: plan.params, rules: plan.rules, steps: plan.steps }, ['a', 'b']);
    const results = ['a', 'b'].flatMap((node) => [
      on(result('execsnoop', { events: [exec({ filename: '/tmp/x' })] }), node),
      on(result('opensnoop', { events: [] }), node),
      on(result('tcplife', { events: node === 'b' ? [conn()] : [], missedRuns: 0 }), node),
    ]);
    const central = analyzeRun({ run: r, results });
    expect(
      central
        .filter((f) => f.evidence.rule)
        .map((f) => `${f.node} ${f.evidence.rule}`)
        .sort(),
    ).toEqual(['a exec-from-tmp', 'a shell-from-web-server', 'b exec-from-tmp', 'b shell-from-web-server', 'b unexpected-port']);
    expect(json(mergedParts(r, results))).toBe(json(central));
  });

  it('a node whose analysis stops on a bug: its part carries why, and the merge says so once', () => {
    const r = run({}, ['a', 'b']);
    const trap = { node: 'b' } as NodeResult;
    Object.defineProperty(trap, 'result', {
      get: () => {
        throw new Error('boom');
      },
      enumerable: true,
    });
    const results = [on(slow('10.0.0.1:1', 17), 'a'), trap, trap];
    const part = new RunAnalysis({ run: r }).analyzeNode([trap]);
    expect(part).toEqual({ findings: [], checked: [], unchecked: [], stoppedEarly: 'boom' });
    const central = analyzeRun({ run: r, results });
    expect(central.filter((f) => f.id === 'analysis:*:failed').map((f) => f.title)).toEqual(['Analysis stopped early (boom); the other findings are partial.']);
    expect(json(mergedParts(r, results))).toBe(json(central));
  });

  it('the settings key changes with what a part depends on besides its results', () => {
    const key = (plan: Parameters<typeof run>[0]) => new RunAnalysis({ run: run(plan) }).settingsKey();
    const base = key({});
    expect(key({})).toBe(base);
    expect(key({ thresholds: { connectP99Ms: 5 } })).not.toBe(base);
    expect(key({ durationMs: 1234 })).not.toBe(base);
    expect(key({ target: { comm: 'nginx' } })).not.toBe(base);
    expect(key({ rules: [{ name: 'r', title: 'R', severity: 'warning', exec: { comm: ['sh'] } }] as never })).not.toBe(base);
    // Results do not enter it.
    expect(new RunAnalysis({ run: run() }).settingsKey()).toBe(base);
  });

  it('an empty part changes nothing', () => {
    const r = run({}, ['a']);
    const results: NodeResult[] = [on(result('execsnoop', { events: [] } as Partial<CaptureResult>), 'a')];
    const merged = new RunAnalysis({ run: r });
    merged.addPart(merged.analyzeNode([]));
    merged.addNode(results);
    expect(json(merged.finish())).toBe(json(analyzeRun({ run: r, results })));
  });
});
