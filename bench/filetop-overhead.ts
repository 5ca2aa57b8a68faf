// Overhead on the traced workload: a C helper does N one-byte read()s from a
// 1 MiB file (lseek back to 0 at EOF), timing its own loop. Untraced and
// traced runs alternate (order swapped every pair); in a traced run a
// whole-host filetop capture is live in this process before the helper starts
// and is aborted after it ends. If bpftrace is installed, the same loop runs
// under a bpftrace script counting bytes per process+fd as a comparison.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCapture } from '../src/captures/run-capture.js';
import { filetop } from '../src/captures/filetop/index.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtRatio, kv, median, note, numericColumns, section, table, verdict, alternatingPairs } from './report.js';

const READS = 5_000_000;
const WARMUP_READS = 200_000;
const PAIRS = 4;
const LOOP_LIMIT_MS = 30_000; // the helper stops early past this; ns/read stays comparable
const RUN_TIMEOUT_MS = 60_000;
const CAPTURE_BOUND_MS = 300_000; // the capture is aborted long before this
const FILE_BYTES = 1 << 20;
const TARGET_RATIO = 2.0;

/** N one-byte reads (lseek to 0 at EOF), at most max_ms; prints "<reads done> <loop ns>". */
export const ONE_BYTE_READS_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = atol(argv[2]), max_ms = atol(argv[3]), i;
	int fd = open(argv[1], O_RDONLY);
	long long t0, deadline;
	char c;

	if (fd < 0) {
		perror("open");
		return 2;
	}
	t0 = now_ns();
	deadline = t0 + max_ms * 1000000LL;
	for (i = 0; i < n; i++) {
		ssize_t r = read(fd, &c, 1);
		if (r == 0)
			lseek(fd, 0, SEEK_SET);
		else if (r < 0)
			return 1;
		if ((i & 0xffff) == 0 && now_ns() >= deadline)
			break;
	}
	printf("%ld %lld\n", i, now_ns() - t0);
	return 0;
}
`;

interface LoopRun {
  pid: number;
  reads: number;
  nsPerRead: number;
}

interface Traced extends LoopRun {
  /** What filetop counted for the helper's (pid, file) row. */
  counted: number;
  dropped: number;
  bpfNsPerRead: number;
}

function parseRun(run: TimedRun): LoopRun {
  const [done, ns] = run.stdout.trim().split(/\s+/).map(Number);
  if (run.code !== 0 || !done || !ns) throw new Error(`read loop failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  return { pid: run.pid, reads: done, nsPerRead: ns / done };
}

async function untraced(helper: string, file: string, reads = READS): Promise<LoopRun> {
  return parseRun(await runTimed(helper, [file, String(reads), String(LOOP_LIMIT_MS)], { timeoutMs: RUN_TIMEOUT_MS }));
}

async function traced(helper: string, file: string, reads = READS): Promise<Traced> {
  const abort = new AbortController();
  let markLive = () => {};
  const live = new Promise<void>((resolve) => (markLive = resolve));
  const capture = runCapture(filetop, {
    durationMs: CAPTURE_BOUND_MS,
    signal: abort.signal,
    params: { maxRows: 1_000_000 },
    onLive: () => markLive(),
  });
  const endedEarly = capture.then(() => Promise.reject(new Error('capture ended before its probes were live')));
  endedEarly.catch(() => {}); // only the race below reads it
  await Promise.race([live, endedEarly]);
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    run = await runTimed(helper, [file, String(reads), String(LOOP_LIMIT_MS)], { timeoutMs: RUN_TIMEOUT_MS });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  const result = await capture; // closed before anything is thrown
  if (!run) throw failure;
  const loop = parseRun(run);
  const row = result.rows.find((r) => r.pid === loop.pid && r.path === file);
  return {
    ...loop,
    counted: row?.reads ?? 0,
    dropped: result.dropped,
    bpfNsPerRead: result.bpfCpuNs / loop.reads,
  };
}

/** The loop under bpftrace (fd remembered at enter, bytes summed per pid+fd at exit), or undefined without bpftrace. */
async function underBpftrace(helper: string, file: string): Promise<number | undefined> {
  const script = [
    'tracepoint:syscalls:sys_enter_read { @fd[tid] = args->fd; }',
    'tracepoint:syscalls:sys_exit_read /@fd[tid]/ { if (args->ret > 0) { @bytes[pid, comm, @fd[tid]] = sum(args->ret); } delete(@fd[tid]); }',
    'END { clear(@fd); clear(@bytes); }',
  ].join('\n');
  const tracer = spawn('bpftrace', ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
  const spawned = await new Promise<boolean>((resolve) => {
    tracer.once('error', () => resolve(false));
    tracer.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (chunk.includes('Attaching')) resolve(true);
    });
    setTimeout(() => resolve(tracer.exitCode === null), 20_000);
  });
  if (!spawned) return undefined;
  try {
    return (await untraced(helper, file)).nsPerRead;
  } finally {
    tracer.kill('SIGINT');
    await new Promise((resolve) => (tracer.exitCode !== null ? resolve(null) : tracer.once('exit', resolve)));
  }
}

export async function filetopOverhead(): Promise<void> {
  const tmp = new TempDir('filetop');
  try {
    const helper = tmp.compileC('one-byte-reads', ONE_BYTE_READS_C);
    const file = join(tmp.path, 'data');
    writeFileSync(file, Buffer.alloc(FILE_BYTES, 0x61));
    // Warm-up, untimed: page cache, capture code paths.
    await untraced(helper, file, WARMUP_READS);
    await traced(helper, file, WARMUP_READS);

    section(`${PAIRS} pairs of ${fmtCount(READS)} one-byte read()s from a cached 1 MiB file, order alternating, whole-host filetop`);
    const rows: string[][] = [];
    const ratios: number[] = [];
    const plain: LoopRun[] = [];
    const withCapture: Traced[] = [];
    const pairs = await alternatingPairs(
      PAIRS,
      () => untraced(helper, file),
      () => traced(helper, file),
    );
    for (const { index: i, order, untraced: u, traced: t } of pairs) {
      plain.push(u);
      withCapture.push(t);
      ratios.push(t.nsPerRead / u.nsPerRead);
      rows.push([
        String(i + 1),
        order,
        `${u.nsPerRead.toFixed(0)} ns`,
        `${t.nsPerRead.toFixed(0)} ns`,
        fmtRatio(t.nsPerRead / u.nsPerRead),
        `${fmtCount(t.counted)}/${fmtCount(t.reads)}`,
        `${t.bpfNsPerRead.toFixed(0)} ns`,
        fmtCount(t.dropped),
      ]);
    }
    table(['pair', 'order', 'untraced/read', 'traced/read', 'ratio', 'reads counted', 'BPF/read', 'drops'], rows, numericColumns(8));
    const uNs = median(plain.map((r) => r.nsPerRead));
    const tNs = median(withCapture.map((r) => r.nsPerRead));
    kv('median per read untraced / traced', `${uNs.toFixed(0)} ns / ${tNs.toFixed(0)} ns (added ${(tNs - uNs).toFixed(0)} ns)`);
    kv(
      'BPF program time per read (kernel)',
      `${median(withCapture.map((t) => t.bpfNsPerRead)).toFixed(0)} ns (sys_exit programs, whole machine ÷ reads; includes ~45 ns of run-time accounting)`,
    );
    kv('ratio of medians', fmtRatio(tNs / uNs));
    kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
    const exact = withCapture.every((t) => t.counted === t.reads);
    kv('capture counted every read', exact ? 'yes, in every traced run' : `NO: ${withCapture.map((t) => `${t.counted}/${t.reads}`).join(', ')}`);
    const bt = await underBpftrace(helper, file);
    kv('bpftrace (fd at enter, sum per pid+fd)', bt === undefined ? 'skipped: bpftrace is not installed' : `${bt.toFixed(0)} ns/read, ${fmtRatio(bt / uNs)}`);
    note("reads counted = filetop's read count on the helper's (pid, file) row vs the helper's read() calls (EOF reads included)");
    note('reference: bpftrace 3.9×, libbpf-tools C 2.27×, C with fd→path per call 4.9×');
    verdict(median(ratios) <= TARGET_RATIO, `median pair ratio ${fmtRatio(median(ratios))} vs ≤${fmtRatio(TARGET_RATIO)}`);
  } finally {
    tmp.remove();
  }
}
