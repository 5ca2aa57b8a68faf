// Overhead of the TCP captures on a TCP workload: a C helper moves TRANSFER
// bytes over loopback between two of its processes (16 KiB writes, 64 KiB
// reads), timed from spawn() to its exit. Untraced and traced runs alternate
// (order swapped every pair, so drift hits both sides); in a traced run
// tcpretrans and tcprtt are both live in this process (unfiltered: every
// send and receive on a TCP socket runs tcpretrans's owner programs, every
// segment received runs tcprtt's tcp_probe) before the transfer starts, and
// are aborted after it ends.
import { runCapture } from '../src/captures/run-capture.js';
import { tcpretrans } from '../src/captures/tcpretrans/index.js';
import { tcprtt } from '../src/captures/tcprtt/index.js';
import { runTimed, TempDir, type TimedRun } from './processes.js';
import { fmtCount, fmtMB, fmtMs, fmtRatio, kv, median, note, numericColumns, section, table, verdict, alternatingPairs } from './report.js';

const TRANSFER = 200_000_000;
const WRITE_SIZE = 16 * 1024;
const WARMUP_TRANSFER = 20_000_000;
const PAIRS = 10;
const RUN_TIMEOUT_MS = 60_000;
const CAPTURE_BOUND_MS = 300_000; // the captures are aborted long before this
const TARGET_RATIO = 1.03;

/** Prints its listening port, then a forked child writes `total` bytes to it; exits 0 when all arrived. */
const LOOPBACK_TRANSFER_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long total = argc > 1 ? atol(argv[1]) : 0, got = 0;
	int wsize = argc > 2 ? atoi(argv[2]) : 16384, l, s, status;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	static char rbuf[65536];
	ssize_t n;
	pid_t writer;

	if (total <= 0 || wsize <= 0) return 2;
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) || getsockname(l, (struct sockaddr *)&a, &alen)) return 3;
	printf("%d\n", ntohs(a.sin_port));
	fflush(stdout);
	writer = fork();
	if (writer < 0) return 4;
	if (writer == 0) {
		char *buf = malloc(wsize);
		long sent = 0;
		int c = socket(AF_INET, SOCK_STREAM, 0);

		if (!buf || c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a))) _exit(5);
		memset(buf, 'x', wsize);
		while (sent < total) {
			n = write(c, buf, total - sent < wsize ? total - sent : wsize);
			if (n <= 0) _exit(6);
			sent += n;
		}
		close(c);
		_exit(0);
	}
	s = accept(l, NULL, NULL);
	if (s < 0) return 7;
	while ((n = read(s, rbuf, sizeof(rbuf))) > 0) got += n;
	if (waitpid(writer, &status, 0) != writer || !WIFEXITED(status) || WEXITSTATUS(status)) return 8;
	return got == total ? 0 : 9;
}
`;

interface Traced {
  ms: number;
  /** RTT samples under the helper's remote (its port), from tcprtt. */
  rttSamples: number;
  rttMeanUs: number;
  /** Retransmits on the helper's flow, from tcpretrans (loopback: 0 expected). */
  retransmits: number;
  dropped: number;
  bpfCpuNs: number;
  bpfRuns: number;
}

function checked(run: TimedRun): TimedRun {
  if (run.code !== 0) throw new Error(`loopback transfer failed: exit ${run.code ?? run.signal}, "${run.stdout.trim()}"`);
  return run;
}

async function untraced(helper: string, bytes = TRANSFER): Promise<number> {
  return checked(await runTimed(helper, [String(bytes), String(WRITE_SIZE)], { timeoutMs: RUN_TIMEOUT_MS })).ms;
}

async function traced(helper: string, bytes = TRANSFER): Promise<Traced> {
  const abort = new AbortController();
  let live = 0;
  let markLive = () => {};
  const allLive = new Promise<void>((resolve) => (markLive = () => ++live === 2 && resolve()));
  const request = { durationMs: CAPTURE_BOUND_MS, signal: abort.signal, onLive: () => markLive() };
  const retrans = runCapture(tcpretrans, request);
  const rtt = runCapture(tcprtt, request);
  const endedEarly = Promise.race([retrans, rtt]).then(() => Promise.reject(new Error('a capture ended before its probes were live')));
  endedEarly.catch(() => {}); // only the race below reads it
  let run: TimedRun | undefined;
  let failure: unknown;
  try {
    await Promise.race([allLive, endedEarly]);
    run = await runTimed(helper, [String(bytes), String(WRITE_SIZE)], { timeoutMs: RUN_TIMEOUT_MS });
  } catch (err) {
    failure = err;
  }
  abort.abort();
  // Both captures are closed before anything is thrown.
  const [r, t] = await Promise.allSettled([retrans, rtt]);
  if (r.status === 'rejected') throw r.reason;
  if (t.status === 'rejected') throw t.reason;
  if (!run) throw failure;
  checked(run);
  const port = run.stdout.trim().split('\n')[0];
  const mine = t.value.histograms.find((h) => h.labels.remote === `127.0.0.1:${port}`)?.histogram;
  return {
    ms: run.ms,
    rttSamples: mine?.count ?? 0,
    rttMeanUs: mine && mine.count ? mine.sum / mine.count : Number.NaN,
    retransmits: r.value.rows.filter((row) => row.local.endsWith(`:${port}`) || row.remote.endsWith(`:${port}`)).reduce((a, row) => a + row.retransmits, 0),
    dropped: r.value.dropped + t.value.dropped,
    bpfCpuNs: r.value.bpfCpuNs + t.value.bpfCpuNs,
    bpfRuns: r.value.bpfRunCount + t.value.bpfRunCount,
  };
}

export async function tcpretransOverhead(): Promise<void> {
  const tmp = new TempDir('tcpretrans');
  try {
    const helper = tmp.compileC('loopback-transfer', LOOPBACK_TRANSFER_C);
    // Warm-up, untimed: the helper's pages, capture code paths.
    await untraced(helper, WARMUP_TRANSFER);
    await traced(helper, WARMUP_TRANSFER);

    section(`${PAIRS} pairs of ${fmtMB(TRANSFER)} over loopback (${WRITE_SIZE / 1024} KiB writes), spawn→exit, tcpretrans + tcprtt live, order alternating`);
    const rows: string[][] = [];
    const ratios: number[] = [];
    const plain: number[] = [];
    const withCapture: Traced[] = [];
    const pairs = await alternatingPairs(
      PAIRS,
      () => untraced(helper),
      () => traced(helper),
    );
    for (const { index: i, order, untraced: u, traced: t } of pairs) {
      plain.push(u);
      withCapture.push(t);
      ratios.push(t.ms / u);
      rows.push([
        String(i + 1),
        order,
        fmtMs(u),
        fmtMs(t.ms),
        fmtRatio(t.ms / u),
        fmtCount(t.bpfRuns),
        `${(t.bpfCpuNs / 1e6).toFixed(2)} ms`,
        fmtCount(t.rttSamples),
        Number.isFinite(t.rttMeanUs) ? `${t.rttMeanUs.toFixed(0)} µs` : '-',
        fmtCount(t.retransmits),
        fmtCount(t.dropped),
      ]);
    }
    table(['pair', 'order', 'untraced', 'traced', 'ratio', 'BPF runs', 'BPF time', 'rtt samples', 'mean srtt', 'retrans', 'drops'], rows, numericColumns(11));
    const tracedMs = withCapture.map((t) => t.ms);
    kv('median untraced / traced', `${fmtMs(median(plain))} / ${fmtMs(median(tracedMs))}`);
    kv('throughput untraced (median)', `${(TRANSFER / (median(plain) / 1000) / 1e9).toFixed(2)} GB/s`);
    kv(
      'BPF time per run (kernel, median)',
      `${(median(withCapture.map((t) => t.bpfCpuNs)) / 1e6).toFixed(2)} ms over ${fmtCount(median(withCapture.map((t) => t.bpfRuns)))} program runs (both captures, whole machine)`,
    );
    const bpfMs = median(withCapture.map((t) => t.bpfCpuNs)) / 1e6;
    kv(
      'estimate from kernel accounting',
      `${fmtRatio(1 + bpfMs / median(plain))} (1 + BPF time per run ÷ untraced time: a lower bound, without tracepoint dispatch; low noise)`,
    );
    kv('ratio of medians', fmtRatio(median(tracedMs) / median(plain)));
    kv('ratio of minimums', `${fmtRatio(Math.min(...tracedMs) / Math.min(...plain))} (each side's least-disturbed run)`);
    kv('median of pair ratios', `${fmtRatio(median(ratios))} (pairs ranged ${fmtRatio(Math.min(...ratios))} – ${fmtRatio(Math.max(...ratios))})`);
    kv(
      'tcprtt saw the transfer',
      withCapture.every((t) => t.rttSamples > 0) ? 'yes, in every traced run' : `NO: samples ${withCapture.map((t) => t.rttSamples).join(', ')}`,
    );
    note('BPF runs/time = kernel run-time stats of every program of both captures (sock_send_length, sock_recv_length,');
    note("inet_sock_set_state, tcp_destroy_sock, tcp_retransmit_*, tcp_probe), whole machine, for the capture's lifetime;");
    note("rtt samples = tcprtt samples under the helper's 127.0.0.1:port; retrans = tcpretrans rows on that port");
    verdict(median(ratios) <= TARGET_RATIO, `median pair ratio ${fmtRatio(median(ratios))} vs ≤${fmtRatio(TARGET_RATIO)}`);
  } finally {
    tmp.remove();
  }
}
