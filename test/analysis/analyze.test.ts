// analyzeRun as a whole: ranking, several nodes, what could not be checked,
// and odd data of every kind, none of which may make it throw.
import { describe, expect, it } from 'vitest';
import { analyzeRun, type NodeResult } from '../../src/runs/analyze-run.js';
import type { CaptureResult } from '../../src/captures/capture.js';
import { histogram, NODE, on, result, run } from './fixtures.js';

const slowConnects = (destination: string, slot: number) =>
  result('tcpconnlat', { histograms: [{ labels: { destination }, histogram: histogram({ 6: 6, [slot]: 3 }) }], slowest: [], failures: [] });

describe('analyzeRun', () => {
  it('ranks by severity, then impact, across nodes and captures; severity follows the time lost', () => {
    const findings = analyzeRun({
      run: run({}, ['a', 'b']),
      results: [
        on(slowConnects('10.0.0.1:1', 17), 'a'), // 3 × ~200 ms lost over 6 s: 0.1 s/s, warning
        on(slowConnects('10.0.0.2:2', 21), 'b'), // 3 × ~3 s: 1.5 s/s, critical
        on(slowConnects('10.0.0.3:3', 19), 'a'), // 3 × ~800 ms: 0.4 s/s, warning
        on(result('execsnoop', { events: [] }, { dropped: 12, drops: { event_cap: 12 } }), 'b'),
      ],
    });
    expect(findings.map((f) => [f.severity, f.node, f.evidence.destination ?? f.capture])).toEqual([
      ['critical', 'b', '10.0.0.2:2'],
      ['warning', 'a', '10.0.0.3:3'],
      ['warning', 'a', '10.0.0.1:1'],
      ['info', 'b', 'execsnoop'],
    ]);
    expect(findings[3]!.title).toBe('execsnoop on b dropped 12 events (event_cap 12): its counts are lower bounds; raise its limits for the full picture.');
    expect(new Set(findings.map((f) => f.id)).size).toBe(findings.length);
  });

  it('a quiet run over several nodes and captures: one "No problems found" listing what was checked', () => {
    const quiet = (node: string): NodeResult[] => [
      on(result('tcpconnlat', { histograms: [{ labels: { destination: '10.0.0.1:80' }, histogram: histogram({ 6: 10 }) }], slowest: [], failures: [] }), node),
      on(result('runqlat', { histograms: [{ labels: { scope: 'all' }, histogram: histogram({ 3: 500 }) }], groupBy: 'process', top: 10 }), node),
      on(result('execsnoop', { events: [] }), node),
    ];
    const findings = analyzeRun({ run: run({}, ['a', 'b']), results: [...quiet('a'), ...quiet('b')] });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      severity: 'info',
      node: '*',
      capture: '*',
      title: 'No problems found on 2 nodes: checked connect latency, run-queue latency and execs.',
    });
    expect(findings[0]!.evidence.checked).toHaveLength(6);
  });

  it('a capture file that could not be read is an info finding naming it; the rest is analyzed', () => {
    const findings = analyzeRun({
      run: run(),
      results: [{ node: NODE, capture: 'profile', error: 'it is corrupt: incorrect header check' }, on(slowConnects('10.0.0.3:3', 19))],
    });
    const broken = findings.find((f) => f.capture === 'profile')!;
    expect(broken).toMatchObject({ severity: 'info', file: `nodes/${NODE}/profile.json` });
    expect(broken.title).toBe(
      `The capture file nodes/${NODE}/profile.json could not be read (it is corrupt: incorrect header check); CPU profile on ${NODE} was not checked.`,
    );
    expect(findings[0]!.severity).toBe('warning'); // 3 connects × ~800 ms over 6 s: 0.4 s/s
  });

  it('only unreadable files: it says nothing was checked', () => {
    const findings = analyzeRun({ run: run(), results: [{ node: NODE, capture: 'tcpconnlat', error: 'it is missing (expired, or never stored)' }] });
    expect(findings.map((f) => f.title).sort()).toEqual([
      `No problems found, but nothing was checked: no capture result could be analyzed (tcpconnlat on ${NODE}).`,
      expect.stringContaining('could not be read'),
    ]);
  });

  it('a cancelled run says so: cut short, or cancelled before anything ran', () => {
    const r = run({}, ['a', 'b']);
    r.nodes.b = { status: 'cancelled' };
    expect(analyzeRun({ run: r, results: [on(result('execsnoop', { events: [] }), 'a')] })[0]!.title).toBe(
      'No problems found on a: checked execs; the run was cancelled, so the window was cut short on 1 node.',
    );
    r.nodes.a = { status: 'cancelled' };
    expect(analyzeRun({ run: r, results: [] }).map((f) => f.title)).toEqual(['Nothing was checked: the run was cancelled before its captures ran.']);
  });

  it('a failed node is a warning; a capture that did not run is an info', () => {
    const r = run({}, ['a', 'b']);
    r.nodes.a = { status: 'failed', error: 'the worker did not report back' };
    r.nodes.b = {
      status: 'completed',
      captures: [{ capture: 'biolatency', kind: 'histogram', count: 0, dropped: 0, bpfCpuNs: 0, durationMs: 0, cancelled: false, error: 'no block devices' }],
    };
    const findings = analyzeRun({ run: r, results: [on(result('execsnoop', { events: [] }), 'b')] });
    expect(findings.map((f) => [f.severity, f.title])).toEqual([
      ['warning', 'Node a returned no results (the worker did not report back): nothing there was checked.'],
      ['info', 'biolatency did not run on b (no block devices): block I/O latency there was not checked.'],
    ]);
  });

  const odd: [string, unknown][] = [
    ['null data fields', { histograms: null, slowest: null, failures: null, events: null, rows: null, stacks: null }],
    ['strings where lists belong', { histograms: 'x', slowest: 'y', failures: 'z', events: 'e', rows: 'r', stacks: 's' }],
    [
      'lists of junk',
      {
        histograms: [null, 1, 'a', { labels: null, histogram: { buckets: [null, { low: 'a', high: NaN, count: Infinity }] } }],
        events: [null, 3, { argv: 'not-a-list', retval: 'x' }],
        rows: [[], { retransmits: 'many' }],
        stacks: [
          { frames: 'x', value: -5 },
          { frames: [null, 7], value: 1e308 },
        ],
      },
    ],
    [
      'huge and negative numbers',
      {
        durationMs: -1,
        dropped: 'lots',
        histograms: [{ labels: { destination: 'x' }, histogram: { buckets: [{ low: 0, high: 2 ** 40, count: 2 ** 53 }] } }],
        total: -1,
      },
    ],
  ];
  const captures = [
    'tcpconnlat',
    'tcpretrans',
    'tcpreset',
    'tcprtt',
    'profile',
    'offcputime',
    'runqlat',
    'execsnoop',
    'filetop',
    'opensnoop',
    'biolatency',
    'tcplife',
    'reclaim',
    'dnslat',
    'mystery',
  ];

  it.each(odd)('never throws on %s, for any capture', (_, data) => {
    for (const capture of captures) {
      const findings = analyzeRun({ run: run(), results: [on({ ...(data as object), capture } as unknown as CaptureResult)] });
      expect(Array.isArray(findings)).toBe(true);
      for (const f of findings) {
        expect(typeof f.title).toBe('string');
        expect(Number.isFinite(f.score)).toBe(true);
        expect(() => JSON.stringify(f)).not.toThrow();
      }
    }
  });

  it('never throws on a result that is not an object, a run without a plan, or no results', () => {
    const bad = [null, 42, 'text', [], { node: 1 }] as unknown as NodeResult[];
    expect(analyzeRun({ run: run(), results: bad.map((b) => ({ node: NODE, result: b }) as unknown as NodeResult) })).toEqual(
      expect.arrayContaining([expect.objectContaining({ severity: 'info' })]),
    );
    expect(analyzeRun({ run: { id: 'x' } as never, results: [] })[0]!.title).toContain('nothing was checked');
    expect(analyzeRun({ run: run(), results: null as never })[0]!.severity).toBe('info');
  });

  it('an analyzer that fails anyway becomes an info finding', () => {
    const trap = result('tcpconnlat', {});
    Object.defineProperty(trap, 'histograms', {
      get: () => {
        throw new Error('boom');
      },
      enumerable: true,
    });
    const findings = analyzeRun({ run: run(), results: [on(trap)] });
    expect(findings.find((f) => f.id.startsWith('run:'))!.title).toBe(
      `No problems found, but nothing was checked: no capture result could be analyzed (tcpconnlat on ${NODE}).`,
    );
    expect(findings.find((f) => f.id.endsWith('analysis-failed'))!.title).toBe(
      `Analysis of tcpconnlat on ${NODE} failed (boom); see nodes/${NODE}/tcpconnlat.json for the raw data.`,
    );
  });
});
