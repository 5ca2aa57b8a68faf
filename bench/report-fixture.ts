// Generated results of an intermittent-latency run (tcpconnlat, tcpretrans,
// profile, execsnoop, filetop) on many nodes, written into Redis exactly as
// workers store them (putArtifact: gzip, 4 MiB chunks; raw files from each
// capture's own files()), plus the run record. For the report benchmark: the
// shapes are the real ones, the sizes those of a busy service over 10 s.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../src/redis/connection.js';
import type { CaptureFile, CaptureMeta, CaptureResult } from '../src/captures/capture.js';
import { fromSlots, HIST_SLOTS } from '../src/captures/histogram.js';
import { captures } from '../src/captures/registry.js';
import type { StackSample } from '../src/stacks/types.js';
import type { Frame } from '../src/symbolize/types.js';
import { keys } from '../src/redis/keys.js';
import { putArtifact } from '../src/redis/artifacts.js';
import { analyzeNodeResults, storeNodeAnalysis } from '../src/runs/node-analysis.js';
import { RunStore } from '../src/runs/store.js';
import type { CaptureSummary, RunPlan, RunRecord } from '../src/model/run.js';

export const LATENCY_CAPTURES = ['tcpconnlat', 'tcpretrans', 'profile', 'execsnoop', 'filetop'] as const;

export interface FixtureSize {
  nodes: number;
  execs: number;
  stacks: number;
  destinations: number;
  retransRows: number;
  fileRows: number;
}

export const FULL_SIZE: FixtureSize = { nodes: 50, execs: 5000, stacks: 3000, destinations: 40, retransRows: 100, fileRows: 200 };

/** A small deterministic PRNG, so every run of the benchmark stores the same bytes. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}

const DURATION_MS = 10_000;

function meta(capture: string, startedAt: string, extra: Partial<CaptureMeta> = {}): CaptureMeta {
  const def = captures.get(capture)!;
  return {
    capture,
    kind: def.kind,
    target: 'comm checkout',
    startedAt,
    durationMs: DURATION_MS + 3,
    requestedDurationMs: DURATION_MS,
    cancelled: false,
    dropped: 0,
    drops: {},
    partialReads: 0,
    bpfCpuNs: 5_250_000,
    bpfRunCount: 120_000,
    bounds: { events: 16 * 1024 * 1024 },
    timings: { openMs: 1.2, loadMs: 4.5, attachMs: 0.8 },
    ...extra,
  };
}

const COMMS = ['checkout', 'envoy', 'node', 'postgres', 'redis-server', 'kworker/u8:2', 'java'];
const LIBS = ['libc.so.6', 'libssl.so.3', 'libcrypto.so.3', 'checkout', 'envoy', 'libstdc++.so.6', 'node'];
const KERNEL = [
  'do_syscall_64',
  'entry_SYSCALL_64_after_hwframe',
  '__x64_sys_epoll_wait',
  'do_epoll_wait',
  'ep_poll',
  'schedule_hrtimeout_range',
  'tcp_sendmsg',
  'tcp_sendmsg_locked',
  'tcp_push',
  '__tcp_transmit_skb',
  'ip_queue_xmit',
  'ip_output',
  '__dev_queue_xmit',
  'copy_user_enhanced_fast_string',
  'ksys_read',
  'vfs_read',
  'ext4_file_read_iter',
  'filemap_read',
  'clear_page_erms',
  'exc_page_fault',
  'handle_mm_fault',
];

function functionPool(r: ReturnType<typeof rng>, n: number): Frame[] {
  const words = [
    'Handle',
    'Request',
    'Checkout',
    'Cart',
    'Price',
    'Tax',
    'Db',
    'Query',
    'Pool',
    'Conn',
    'Json',
    'Encode',
    'Decode',
    'Http',
    'Router',
    'Middleware',
    'Cache',
    'Lookup',
    'Hash',
    'Map',
    'Vector',
    'Alloc',
    'Free',
    'Lock',
    'Wait',
    'Poll',
    'Tls',
    'Read',
    'Write',
    'Flush',
  ];
  const out: Frame[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${r.pick(['app', 'net', 'std', 'grpc', 'absl', 'v8::internal'])}::${r.pick(words)}${r.pick(words)}${r.pick(words)}<${r.pick(words)}>::operator()`;
    out.push({ name, kind: r.next() < 0.08 ? 'jit' : 'user', module: r.pick(LIBS), offset: 0x1000 + r.int(0xfffff), buildId: 'ab'.repeat(20) });
  }
  return out;
}

export function profileResult(seed: number, startedAt: string, size: FixtureSize): CaptureResult<Record<string, unknown>> {
  const r = rng(seed);
  const pool = functionPool(r, 1500);
  const kernel: Frame[] = KERNEL.map((name, i) => ({ name, kind: 'kernel', module: '[kernel]', offset: 0x100 * i }));
  // Stacks share prefixes, as real ones do: a few roots per process, branching below.
  const stacks: StackSample[] = [];
  const prefixes = new Map<string, Frame[][]>();
  for (const comm of COMMS)
    prefixes.set(
      comm,
      Array.from({ length: 6 }, () => Array.from({ length: 4 + r.int(8) }, () => r.pick(pool))),
    );
  for (let i = 0; i < size.stacks; i++) {
    const comm = COMMS[Math.min(COMMS.length - 1, Math.floor(-Math.log(1 - r.next()) * 1.5))]!;
    const frames = [...r.pick(prefixes.get(comm)!)];
    const depth = 4 + r.int(24);
    for (let d = 0; d < depth; d++) frames.push(r.pick(pool));
    if (r.next() < 0.4) for (let k = 0, n = 2 + r.int(6); k < n; k++) frames.push(r.pick(kernel));
    const value = Math.max(1, Math.round(40 / (1 + i * 0.05) + r.int(3)));
    stacks.push({ pid: 1000 + COMMS.indexOf(comm), comm, frames, value });
  }
  stacks.sort((a, b) => b.value - a.value);
  const total = stacks.reduce((a, s) => a + s.value, 0);
  return {
    ...meta('profile', startedAt),
    stacks,
    sampleType: { type: 'samples', unit: 'count' },
    periodNs: Math.round(1e9 / 99),
    total,
    lostStacks: { kernel: 0, user: 0 },
    top: 20,
    frequency: 99,
    processes: COMMS.length,
  };
}

export function execsnoopResult(seed: number, startedAt: string, size: FixtureSize): CaptureResult<Record<string, unknown>> {
  const r = rng(seed);
  const t0 = Date.parse(startedAt);
  const events = Array.from({ length: size.execs }, (_, i) => {
    const tool = r.pick(['/usr/bin/curl', '/bin/sh', '/usr/bin/python3', '/usr/local/bin/healthcheck', '/usr/bin/openssl']);
    const argv = [
      tool,
      ...Array.from({ length: 1 + r.int(8) }, () =>
        r.pick([
          '-s',
          '-o',
          '/dev/null',
          '--max-time',
          '2',
          'https://payments.internal:8443/v1/authorize',
          '-c',
          'echo ok',
          '/opt/checkout/bin/probe.py',
          '--verbose',
        ]),
      ),
    ];
    return {
      time: new Date(t0 + Math.floor((i / size.execs) * DURATION_MS)).toISOString(),
      pid: 20_000 + i,
      tid: 20_000 + i,
      ppid: 1000,
      uid: 1001,
      comm: tool.split('/').at(-1)!.slice(0, 15),
      pcomm: 'checkout',
      filename: tool,
      argv,
      argsTruncated: false,
      retval: r.next() < 0.02 ? -2 : 0,
      ...(r.next() < 0.02 ? { error: 'ENOENT' } : {}),
      cgroupId: '4242',
      exitCode: 0,
      lifetimeMs: Math.round(r.next() * 500 * 10) / 10,
    };
  });
  return { ...meta('execsnoop', startedAt), events };
}

export function tcpconnlatResult(seed: number, startedAt: string, size: FixtureSize): CaptureResult<Record<string, unknown>> {
  const r = rng(seed);
  const histograms = Array.from({ length: size.destinations }, (_, i) => {
    const slots = new Array<number>(HIST_SLOTS).fill(0);
    let count = 0;
    let sum = 0;
    for (let k = 0; k < 200 + r.int(2000); k++) {
      const us = r.next() < 0.03 ? 100_000 + r.int(200_000) : 200 + r.int(2000); // intermittent: a slow tail
      slots[Math.min(HIST_SLOTS - 1, Math.floor(Math.log2(us)))]!++;
      count++;
      sum += us;
    }
    return { labels: { destination: `10.0.${i >> 4}.${i & 15}:5432` }, histogram: fromSlots('usecs', slots, count, sum) };
  });
  const slowest = Array.from({ length: 100 }, (_, i) => ({
    time: new Date(Date.parse(startedAt) + r.int(DURATION_MS)).toISOString(),
    pid: 1000,
    tid: 1000 + r.int(50),
    comm: 'checkout',
    cgroupId: '4242',
    source: `10.1.0.5:${30_000 + i}`,
    destination: `10.0.0.${r.int(16)}:5432`,
    latencyUs: 300_000 - i * 2000,
  }));
  const failures = Array.from({ length: 8 }, (_, i) => ({
    destination: `10.0.9.${i}:443`,
    error: 'ECONNREFUSED',
    errno: 111,
    count: 1 + r.int(30),
    pid: 1000,
    comm: 'checkout',
  }));
  return { ...meta('tcpconnlat', startedAt), histograms, slowest, failures, missedRuns: 0 };
}

export function tcpretransResult(seed: number, startedAt: string, size: FixtureSize): CaptureResult<Record<string, unknown>> {
  const r = rng(seed);
  const rows = Array.from({ length: size.retransRows }, (_, i) => ({
    local: `10.1.0.5:${30_000 + i}`,
    remote: `10.0.0.${r.int(16)}:5432`,
    family: 'ipv4',
    state: r.pick(['ESTABLISHED', 'ESTABLISHED', 'SYN_SENT', 'FIN_WAIT1']),
    type: 'segment',
    pid: 1000,
    comm: 'checkout',
    cgroupId: '4242',
    retransmits: 1 + r.int(20),
    failed: 0,
    firstSeen: startedAt,
    lastSeen: startedAt,
  }));
  return {
    ...meta('tcpretrans', startedAt),
    rows,
    processes: [{ pid: 1000, comm: 'checkout', retransmits: rows.reduce((a, x) => a + x.retransmits, 0), failed: 0, flows: rows.length }],
    totalRows: rows.length,
  };
}

export function filetopResult(seed: number, startedAt: string, size: FixtureSize): CaptureResult<Record<string, unknown>> {
  const r = rng(seed);
  const rows = Array.from({ length: size.fileRows }, (_, i) => ({
    pid: 1000 + r.int(20),
    comm: r.pick(COMMS),
    path: r.next() < 0.3 ? `socket:[${100_000 + i}]` : `/var/lib/checkout/cache/shard-${i}/segment-${r.int(1000)}.dat`,
    kind: 'regular',
    reads: r.int(10_000),
    writes: r.int(5_000),
    readBytes: r.int(50_000_000),
    writeBytes: r.int(20_000_000),
    dev: '8:1',
    inode: String(500_000 + i),
  }));
  return { ...meta('filetop', startedAt), rows, totalFiles: rows.length * 3 };
}

const GENERATORS: Record<(typeof LATENCY_CAPTURES)[number], typeof profileResult> = {
  tcpconnlat: tcpconnlatResult,
  tcpretrans: tcpretransResult,
  profile: profileResult,
  execsnoop: execsnoopResult,
  filetop: filetopResult,
};

interface NodeResults {
  results: { capture: string; json: string; files: CaptureFile[]; count: number; result: CaptureResult<Record<string, unknown>> }[];
}

/** One node's results and raw files, as the worker makes them. */
export function nodeResults(seed: number, startedAt: string, size: FixtureSize): NodeResults {
  return {
    results: LATENCY_CAPTURES.map((capture, i) => {
      const def = captures.get(capture)!;
      const result = GENERATORS[capture](seed * 31 + i, startedAt, size);
      return { capture, json: JSON.stringify(result), files: def.files?.(result) ?? [], count: def.count(result), result };
    }),
  };
}

export interface FixtureRun {
  run: RunRecord;
  /** Uncompressed bytes of every stored artifact. */
  rawBytes: number;
  storedBytes: number;
  files: number;
  /** With `nodeAnalysis`: how long each node's analysis took (what its worker spends on it). */
  analysisMs: number[];
}

/**
 * Stores a completed run over `size.nodes` nodes. `variants` distinct node
 * results are generated and reused round-robin (rendering flame graphs for
 * fifty nodes would make the setup slower than the benchmark). With
 * `nodeAnalysis`, each node's analysis.json is stored too, as its worker does.
 */
export async function writeFixtureRun(
  redis: RedisClient,
  size: FixtureSize = FULL_SIZE,
  variants = 5,
  ttlSeconds = 3600,
  { nodeAnalysis = false }: { nodeAnalysis?: boolean } = {},
): Promise<FixtureRun> {
  const store = new RunStore(redis, { retentionSeconds: ttlSeconds });
  const id = randomUUID();
  const nodes = Array.from({ length: size.nodes }, (_, i) => `web-${String(i + 1).padStart(3, '0')}`);
  const created = new Date(Date.now() - 60_000);
  const startedAt = new Date(created.getTime() + 200).toISOString();
  const plan: RunPlan = {
    runbook: 'intermittent-latency',
    steps: LATENCY_CAPTURES.map((capture) => ({ capture, params: {} })),
    durationMs: DURATION_MS,
    target: { comm: 'checkout' },
    nodes,
    reason: 'benchmark: p99 of checkout spikes every few minutes',
  };
  await store.create(id, plan, 'bench', created);
  const made = Array.from({ length: variants }, (_, v) => nodeResults(v + 1, startedAt, size));
  let rawBytes = 0;
  let storedBytes = 0;
  let files = 0;
  const analysisMs: number[] = [];
  const planned = await store.get(id);
  const storeNode = async (node: string, i: number) => {
    const { results } = made[i % variants]!;
    const summaries: CaptureSummary[] = [];
    for (const r of results) {
      const put = (name: string, contentType: string, content: CaptureFile['content']) =>
        putArtifact(redis, { runId: id, node, name, contentType, ttlSeconds }, content);
      const json = await put(`${r.capture}.json`, 'application/json', r.json);
      rawBytes += json.bytes;
      storedBytes += json.storedBytes;
      files++;
      for (const f of r.files) {
        const m = await put(f.name, f.contentType, f.content);
        rawBytes += m.bytes;
        storedBytes += m.storedBytes;
        files++;
      }
      summaries.push({
        capture: r.capture,
        kind: r.result.kind,
        count: r.count,
        dropped: r.result.dropped,
        bpfCpuNs: r.result.bpfCpuNs,
        durationMs: r.result.durationMs,
        cancelled: false,
        artifact: `${r.capture}.json`,
        bytes: json.bytes,
        files: r.files.map((f) => f.name),
      });
    }
    if (nodeAnalysis && planned) {
      const t0 = performance.now();
      const analysis = await analyzeNodeResults(
        planned,
        node,
        results.map((r, k) => ({ artifact: summaries[k]!.artifact!, bytes: summaries[k]!.bytes!, result: r.result })),
      );
      analysisMs.push(performance.now() - t0);
      await storeNodeAnalysis(redis, id, analysis, ttlSeconds);
    }
    await store.setNodeState(id, node, {
      status: 'completed',
      kernel: '6.1.0-28-amd64',
      startedAt,
      finishedAt: new Date(Date.parse(startedAt) + DURATION_MS + 900).toISOString(),
      captures: summaries,
    });
  };
  for (let i = 0; i < nodes.length; i += 4) await Promise.all(nodes.slice(i, i + 4).map((n, k) => storeNode(n, i + k)));
  const finishedAt = new Date(Date.parse(startedAt) + DURATION_MS + 1500).toISOString();
  await redis.hset(keys.run(id), { status: 'completed', startedAt, finishedAt });
  const run = await store.get(id);
  if (!run) throw new Error('the fixture run was not stored');
  return { run, rawBytes, storedBytes, files, analysisMs };
}
