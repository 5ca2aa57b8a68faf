// offcputime on threads that block tens of thousands of times a second: a C
// helper (test/helpers/pipe-pingpong.c) and its forked echo pass one byte back and forth over two pipes, the
// helper reading each answer alternately from two functions of one frame size
// (their registers at the read the same). Three sides, in rotating order
// (drift on a shared machine hits each):
//   untraced;
//   every block: offcputime with snapshotRepeatUs 0, a user stack snapshot
//     (an 8 KiB copy through the ring buffer, unwound in user space) per block;
//   default: a block at the place of one of its thread's last snapshots
//     reuses it (a 24-byte record).
// Compared per block counted: BPF time and Sherlock's own CPU (draining,
// unwinding); and the snapshots lost to a full ring buffer, and the blocks
// whose stack lost its caller (walked by frame pointers instead, which skip a
// libc wrapper's caller). The capture keeps to the helper (its comm).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CaptureResult } from '../src/captures/capture.js';
import { offcputime, type OffcputimeData } from '../src/captures/offcputime/index.js';
import { runCapture } from '../src/captures/run-capture.js';
import { projectRoot } from '../src/util/paths.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtRatio, median, note, numericColumns, section, table, verdict } from './report.js';

const ROUND_TRIPS = 100_000;
const ROUNDS = 5;
const RUN_TIMEOUT_MS = 60_000;
const CAPTURE_BOUND_MS = 300_000; // aborted long before this
const COMM = 'pipe-pingpong';
/** The functions that call read() (test/helpers/pipe-pingpong.c): a block whose stack has none of them lost its caller. */
const CALLERS = ['sherlock_wait_a_51e9', 'sherlock_wait_b_51e9', 'sherlock_echo_51e9'];

interface Run {
  cpuPerRtUs: number;
  /** Per block counted: BPF time, and Sherlock's own CPU in user space (draining, unwinding). */
  bpfPerBlockNs?: number;
  userPerBlockNs?: number;
  blocks?: number;
  lost?: number;
  callerLost?: number;
  repeated?: number;
}

type SideName = 'untraced' | 'every block' | 'default';
const SIDES: { name: SideName; params?: { snapshotRepeatUs?: number } }[] = [
  { name: 'untraced' },
  { name: 'every block', params: { snapshotRepeatUs: 0 } },
  { name: 'default', params: {} },
];

function parse(run: TimedRun): number {
  const [a = 0, b = 0, cpuUs = 0] = run.stdout.trim().split(' ').map(Number);
  const roundTrips = a + b;
  if (run.code !== 0 || roundTrips !== ROUND_TRIPS) throw new Error(`pipe ping-pong failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  return cpuUs / roundTrips;
}

async function runSide(helper: string, params: { snapshotRepeatUs?: number } | undefined): Promise<Run> {
  if (!params) return { cpuPerRtUs: parse(await runTimed(helper, [String(ROUND_TRIPS)], { timeoutMs: RUN_TIMEOUT_MS })) };
  const abort = new AbortController();
  const cpuBefore = process.cpuUsage();
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const capture = runCapture(offcputime, { durationMs: CAPTURE_BOUND_MS, params, target: { comm: COMM }, signal: abort.signal, onLive: () => markLive() });
  let run: TimedRun | undefined;
  try {
    await Promise.race([live, capture]);
    run = await runTimed(helper, [String(ROUND_TRIPS)], { timeoutMs: RUN_TIMEOUT_MS });
  } finally {
    abort.abort();
  }
  const result: CaptureResult<OffcputimeData> = await capture;
  const cpu = process.cpuUsage(cpuBefore);
  const reads = result.stacks.filter((s) => s.frames.some((f) => f.name === 'anon_pipe_read'));
  const blocks = reads.reduce((n, s) => n + s.blocks, 0);
  return {
    cpuPerRtUs: parse(run),
    bpfPerBlockNs: result.bpfCpuNs !== undefined ? result.bpfCpuNs / blocks : undefined,
    userPerBlockNs: ((cpu.user + cpu.system) * 1000) / blocks,
    blocks,
    lost: result.drops?.ringbuf_full ?? 0,
    callerLost: reads.filter((s) => !s.frames.some((f) => CALLERS.includes(f.name))).reduce((n, s) => n + s.blocks, 0),
    repeated: result.unwind?.repeated ?? 0,
  };
}

export async function offcputimeRepeats(): Promise<void> {
  const tmp = new TempDir('offcputime-repeats');
  try {
    const helper = tmp.compileC(COMM, readFileSync(join(projectRoot, 'test/helpers/pipe-pingpong.c'), 'utf8'));
    const runs = new Map<SideName, Run[]>(SIDES.map((s) => [s.name, []]));
    section(`${ROUNDS} rounds × ${SIDES.length} sides of ${fmtCount(ROUND_TRIPS)} one-byte round trips over two pipes, order rotating`);
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < SIDES.length; i++) {
        const side = SIDES[(round + i) % SIDES.length]!;
        runs.get(side.name)!.push(await runSide(helper, side.params));
      }
    }
    const med = (name: SideName, of: (r: Run) => number | undefined) => median(runs.get(name)!.map((r) => of(r) ?? Number.NaN));
    const fmt = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');
    const costNs = (name: SideName) => med(name, (r) => (r.bpfPerBlockNs ?? Number.NaN) + (r.userPerBlockNs ?? Number.NaN));
    table(
      ['side', 'CPU µs/rt', 'blocks', 'BPF ns/block', 'user ns/block', 'snapshots lost', 'caller lost', 'repeated'],
      SIDES.map(({ name }) => [
        name,
        fmt(
          med(name, (r) => r.cpuPerRtUs),
          2,
        ),
        fmtCount(med(name, (r) => r.blocks)),
        fmt(med(name, (r) => r.bpfPerBlockNs)),
        fmt(med(name, (r) => r.userPerBlockNs)),
        fmtCount(med(name, (r) => r.lost)),
        fmtCount(med(name, (r) => r.callerLost)),
        fmtCount(med(name, (r) => r.repeated)),
      ]),
      numericColumns(8),
    );
    note("medians over the rounds; user: Sherlock's own CPU while it captured (draining, unwinding), per block counted");
    note('caller lost: blocks in read() counted without the function that called it (a lost snapshot, walked by frame pointers)');
    note('CPU µs/rt moves with the tracing itself (a slower switch lets a reader find its byte there more often: fewer blocks): compare per block');
    const ratio = costNs('default') / costNs('every block');
    const callerLost = med('default', (r) => r.callerLost);
    verdict(
      ratio <= 1 && callerLost === 0,
      `default costs ${fmtRatio(ratio)} the BPF + user time per block of a snapshot per block, ${fmtCount(callerLost)} blocks without their caller (target ≤1.00×, 0)`,
    );
  } finally {
    tmp.remove();
  }
}
