// Capture results and runs built in the tests: the same shapes the captures
// store (CaptureMeta + data), with histograms from log2 slot counts.
import type { NodeResult } from '../../src/runs/analyze-run.js';
import type { CaptureResult, ResultKind } from '../../src/captures/capture.js';
import { fromSlots, HIST_SLOTS, type Log2Histogram } from '../../src/captures/histogram.js';
import type { Frame } from '../../src/symbolize/types.js';
import type { RunPlan, RunRecord } from '../../src/model/run.js';

export const NODE = 'web-1';
export const WINDOW_MS = 6000;

/** A histogram from {slot: count}: slot i holds [2^i, 2^(i+1)) (slot 0: [0, 2)). */
export function histogram(slots: Record<number, number>, unit = 'usecs'): Log2Histogram {
  const counts = new Array<number>(HIST_SLOTS).fill(0);
  let sum = 0;
  for (const [slot, n] of Object.entries(slots)) {
    counts[Number(slot)] = n;
    sum += n * 1.5 * 2 ** Number(slot);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  return fromSlots(unit, counts, total, sum);
}

const KINDS: Record<string, ResultKind> = {
  execsnoop: 'events',
  opensnoop: 'events',
  tcplife: 'events',
  tcpconnlat: 'histogram',
  runqlat: 'histogram',
  tcprtt: 'histogram',
  tcpflow: 'counters',
  biolatency: 'histogram',
  tcpretrans: 'counters',
  tcpreset: 'counters',
  filetop: 'counters',
  profile: 'stacks',
  offcputime: 'stacks',
  lockwait: 'stacks',
  iotop: 'counters',
};

export function result(capture: string, data: Record<string, unknown>, meta: Partial<CaptureResult> = {}): CaptureResult {
  return {
    capture,
    kind: KINDS[capture] ?? 'events',
    target: 'all processes',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationMs: WINDOW_MS,
    requestedDurationMs: WINDOW_MS,
    cancelled: false,
    dropped: 0,
    drops: {},
    partialReads: 0,
    bpfCpuNs: 1000,
    bpfRunCount: 10,
    bounds: {},
    timings: { openMs: 1, loadMs: 1, attachMs: 1 },
    ...meta,
    ...data,
  } as CaptureResult;
}

export const on = (r: CaptureResult, node = NODE): NodeResult => ({ node, result: r });

/** An offcputime result of these stacks (µs each). */
export function offcpu(stacks: ReturnType<typeof stack>[], extra: Record<string, unknown> = {}): CaptureResult {
  return result('offcputime', {
    stacks,
    sampleType: { type: 'off-cpu', unit: 'microseconds' },
    total: stacks.reduce((n, s) => n + s.value, 0),
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
    states: 'SD',
    blocks: stacks.reduce((n, s) => n + (s.blocks ?? 0), 0),
    ...extra,
  });
}

export function run(plan: Partial<RunPlan> = {}, nodes: string[] = [NODE]): RunRecord {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    status: 'running',
    createdAt: '2026-01-01T00:00:00.000Z',
    requestedBy: 'test',
    plan: { steps: [], durationMs: WINDOW_MS, target: {}, nodes, ...plan },
    nodes: Object.fromEntries(nodes.map((n) => [n, { status: 'completed' }])),
  };
}

export const kernel = (name: string): Frame => ({ name, kind: 'kernel', module: '[kernel]' });
export const user = (name: string, module = 'app'): Frame => ({ name, kind: 'user', module });

/** Root first, leaf last, as the captures store them. */
export const stack = (pid: number, comm: string, value: number, frames: Frame[], blocks?: number) => ({
  pid,
  comm,
  value,
  frames,
  ...(blocks !== undefined ? { blocks } : {}),
});

/** The q-quantile of slot counts, interpolated inside the bucket: what the tests expect analysis to compute. */
export function expectedQuantile(slots: Record<number, number>, q: number): number {
  const entries = Object.entries(slots)
    .map(([s, n]) => [Number(s), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const rank = q * total;
  let seen = 0;
  for (const [slot, n] of entries) {
    const low = slot === 0 ? 0 : 2 ** slot;
    const high = 2 ** (slot + 1);
    if (seen + n >= rank) return low + ((rank - seen) / n) * (high - low);
    seen += n;
  }
  return 0;
}

/** One event of each kind the suspicious-activity rules read, with `f` over the defaults. */
export const exec = (f: Record<string, unknown> = {}) => ({
  time: '2026-01-01T00:00:01.000Z',
  pid: 4000,
  tid: 4000,
  ppid: 812,
  uid: 33,
  comm: 'sh',
  pcomm: 'nginx',
  filename: '/bin/sh',
  argv: ['sh', '-c', 'id'],
  argsTruncated: false,
  retval: 0,
  cgroupId: '1',
  ...f,
});
export const open = (f: Record<string, unknown> = {}) => ({
  time: '2026-01-01T00:00:02.000Z',
  pid: 4100,
  tid: 4100,
  uid: 0,
  comm: 'cat',
  syscall: 'openat',
  path: '/etc/shadow',
  flags: 0,
  flagNames: 'O_RDONLY',
  fd: 3,
  retval: 3,
  cgroupId: '1',
  ...f,
});
export const conn = (f: Record<string, unknown> = {}) => ({
  time: '',
  pid: 4200,
  tid: 4200,
  comm: 'curl',
  ownerKnown: true,
  cgroupId: '1',
  local: '10.0.0.1:40000',
  remote: '203.0.113.9:4444',
  ipVersion: 4,
  direction: 'active',
  established: true,
  durationMs: 5,
  bytesSent: 10,
  bytesReceived: 10,
  closedFrom: 'FIN_WAIT2',
  ...f,
});

/** One dnslat row (process, server, name, type): 100 lookups answered in ~1 ms unless `over` says otherwise. */
export const dnsLookupRow = (over: Record<string, unknown> = {}) => ({
  pid: 4242,
  comm: 'checkout',
  cgroupId: '1',
  server: '10.0.0.53:53',
  name: 'api.orders.internal',
  type: 'A',
  queries: 100,
  answered: 100,
  unanswered: 0,
  waiting: 0,
  retries: 0,
  rcodes: { NOERROR: 100 },
  truncated: 0,
  totalWaitMs: 100,
  waitsMs: [1, 1, 1],
  firstSeen: '',
  lastSeen: '',
  ...over,
});
