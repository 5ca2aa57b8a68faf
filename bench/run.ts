// Sherlock's benchmarks: `make bench`, or `node --expose-gc dist/bench/run.js
// [name...]` to run only some. They print figures and ratios for people to
// read; nothing is asserted on time (the machine is shared and noisy).
import { cpus, release } from 'node:os';
import { closeAllObjects, missingTracingCapabilities } from '../src/libbpf/index.js';
import { attachTime } from './attach-time.js';
import { cliStartup } from './cli-startup.js';
import { captureStartup } from './capture-startup.js';
import { consolePage } from './console-page.js';
import { execOverhead } from './exec-overhead.js';
import { killTrackedChildren, removeTempDirs } from './processes.js';
import { header, msSince, fmtMs } from './report.js';
import { ringbufDrain } from './ringbuf-drain.js';
import { workerMemory } from './worker-memory.js';
import { workerRunMemory } from './worker-run-memory.js';
import { falcoRulesBench } from './falco-rules.js';
import { fleetSim } from './fleet-sim.js';
import { filetopOverhead } from './filetop-overhead.js';
import { profileOverhead } from './profile-overhead.js';
import { unwindBench } from './unwind.js';
import { pythonStacksBench } from './python-stacks.js';
import { finalizeTime } from './finalize.js';
import { reportBundle } from './report-bundle.js';
import { reportPage } from './report-page.js';
import { reportDownloads } from './report-downloads.js';
import { runbookAttach } from './runbook-attach.js';
import { serverFanout } from './server-fanout.js';
import { serverLatency } from './server-latency.js';
import { serverSubmit } from './server-submit.js';
import { symbolizeSpeed } from './symbolize.js';
import { tcpconnlatOverhead } from './tcpconnlat-overhead.js';
import { sockStateCosts } from './sock-state-costs.js';
import { tcpretransOverhead } from './tcpretrans-overhead.js';
import { cputhrottleCost, lockwaitOverhead, tcpdropOverhead } from './causes-overhead.js';
import { syscallerrorsOverhead } from './syscallerrors-overhead.js';
import { tcpresponseOverhead } from './tcpresponse-overhead.js';
import { tcpflowOverhead } from './tcpflow-overhead.js';
import { signalsOverhead } from './signals-overhead.js';
import { oomkillOverhead } from './oomkill-overhead.js';
import { offcputimeOverhead } from './offcputime-overhead.js';
import { offcputimeRepeats } from './offcputime-repeats.js';
import { tracerComparison } from './tracer-comparison.js';

interface Benchmark {
  name: string;
  title: string;
  target: string;
  run(): Promise<void>;
}

const benchmarks: Benchmark[] = [
  {
    name: 'fleet-sim',
    title: "Fleet simulation, no BPF: idle node workers (Sherlock's worker code) on one Redis; Redis/API cost and fan-out",
    target: 'idle Redis ≤5% of a core; all started ≤0.6 s; run done ≤1 s after the last node',
    run: fleetSim,
  },
  {
    name: 'console-page',
    title: 'Console pages on loopback: time to the last byte and bytes sent (gzip), beside GET /healthz',
    target: '<300 ms and <200 KiB per page',
    run: consolePage,
  },
  {
    name: 'attach-time',
    title: 'Attach time: from the call to probes live for execsnoop in an already-running process',
    target: '≤10 ms warm',
    run: attachTime,
  },
  {
    name: 'ringbuf-drain',
    title: 'Ring buffer drain: events/s consumed into JS with zero drops; produced vs consumed',
    target: '≥100k events/s with 0 drops',
    run: ringbufDrain,
  },
  {
    name: 'exec-overhead',
    title: 'Overhead: an exec storm (2000 fork+exec of /bin/true) traced vs untraced, alternating runs, as a ratio',
    target: '≤1.03×',
    run: execOverhead,
  },
  {
    name: 'tracer-comparison',
    title: 'Exec, read and connect storms and a CPU loop: untraced, under Sherlock and under bpftrace on the same tracepoints',
    target: 'exec ≤1.03×, reads ≤1.15×, connects ≤1.05×, CPU ≤1.01×, and ahead of bpftrace on each',
    run: tracerComparison,
  },
  {
    name: 'cli-startup',
    title: 'A light CLI and agent: sherlock --help wall time and max RSS beside bare node, idle worker RSS',
    target: '--help ≤0.15 s and ≤50 MB; idle worker ≤60 MiB',
    run: cliStartup,
  },
  {
    name: 'capture-startup',
    title: 'sherlock capture execsnoop: process start → its first line (probes live), beside bpftrace and bare node',
    target: '≤300 ms',
    run: captureStartup,
  },
  {
    name: 'worker-memory',
    title: 'Worker memory while capturing (RSS)',
    target: '≤80 MB',
    run: workerMemory,
  },
  {
    name: 'worker-run-memory',
    title:
      'Worker memory over one big run: 16 opensnoop steps (1M events per step) spooled to disk, stored and analyzed, light vs heavy storm, default vs large spool budget',
    target: 'peak RSS ≤200 MB over the idle worker, whatever the event count',
    run: workerRunMemory,
  },
  {
    name: 'runbook-attach',
    title: 'All five captures of a latency runbook started at once in a warm process: cold (load) vs warm pool (attach only)',
    target: 'warm: all five ≤15 ms, one ≤10 ms, event-loop stall ≤20 ms',
    run: runbookAttach,
  },
  {
    name: 'server-submit',
    title: 'Submissions/s: authenticated POST /v1/runs through the real API into Redis, queueing only, vs a plain hono route',
    target: '≥5k runs/s',
    run: serverSubmit,
  },
  {
    name: 'server-latency',
    title: 'Submission → probes live on an idle worker: median and p99',
    target: 'p99 ≤ 20 ms + attach time',
    run: serverLatency,
  },
  {
    name: 'server-fanout',
    title: 'Fan-out: one 1 s execsnoop run to 50 worker processes; submission → completed, minus the window',
    target: '≤1 s',
    run: serverFanout,
  },
  {
    name: 'report-bundle',
    title: 'Report bundle streaming: 50 nodes × intermittent-latency results, throughput and peak RSS',
    target: '≥50 MB/s, RSS flat',
    run: reportBundle,
  },
  {
    name: 'report-page',
    title: 'report.html in chromium: page size of a typical run, longest task on a 50-node run (load, open every node, evidence, flame graphs)',
    target: '< 2 MB typical, no task > 200 ms',
    run: reportPage,
  },
  {
    name: 'report-downloads',
    title: 'Parallel report downloads: 8 at once of a run with ~200 MB of results, API RSS growth; a 9th refused',
    target: 'API RSS growth ≤150 MB; 429 beyond the limit',
    run: reportDownloads,
  },
  {
    name: 'finalize',
    title: 'From the last node finishing to the run completed with findings ready, 50 nodes',
    target: '≤500 ms',
    run: finalizeTime,
  },
  {
    name: 'filetop-overhead',
    title: 'filetop: 5M one-byte reads, bytes per process+file, traced vs untraced',
    target: '≤2.0× (bpftrace 3.9×, libbpf C 2.27×)',
    run: filetopOverhead,
  },
  {
    name: 'profile-overhead',
    title: 'profile at 99 Hz on a CPU-bound workload, traced vs untraced',
    target: '≤1.01×',
    run: profileOverhead,
  },
  {
    name: 'unwind',
    title: 'User stacks by CFI from stack copies: overhead at 99 Hz on -O2 -fomit-frame-pointer, share reaching the thread entry, table memory',
    target: '≤1.02×, ≥95% reached, tables in MB',
    run: unwindBench,
  },
  {
    name: 'python-stacks',
    title: 'Python frames walked in the kernel: CPU-time overhead at 99 Hz on CPython 3.11, share of samples with the Python function named',
    target: '≤1.02×, named ≈ all samples after the first',
    run: pythonStacksBench,
  },
  {
    name: 'tcpconnlat-overhead',
    title: 'Connect storm (20k loopback connects) with tcpconnlat+tcplife, traced vs untraced',
    target: '≤1.05× (bpftrace 1.19×)',
    run: tcpconnlatOverhead,
  },
  {
    name: 'sock-state-costs',
    title: 'What each kind of BPF work costs on sock:inet_sock_set_state during a connect storm (kernel run-time stats)',
    target: 'figures (a budget for the connect storm)',
    run: sockStateCosts,
  },
  {
    name: 'tcpretrans-overhead',
    title: 'Loopback transfer with tcpretrans+tcprtt, traced vs untraced',
    target: 'no target in the issue; ratio printed',
    run: tcpretransOverhead,
  },
  {
    name: 'lockwait-overhead',
    title: 'lockwait on a mutex storm (4 threads × 50k lock/yield/unlock), traced vs untraced',
    target: '≤1.10× on this worst case; ratio printed',
    run: lockwaitOverhead,
  },
  {
    name: 'tcpdrop-overhead',
    title: 'tcpdrop on a drop storm (20k refused loopback connects), traced vs untraced',
    target: '≤1.05×',
    run: tcpdropOverhead,
  },
  {
    name: 'cputhrottle-cost',
    title: 'cputhrottle: cost of reading 200 quota cgroups at both window ends (no BPF)',
    target: 'no target in the issue; figures printed',
    run: cputhrottleCost,
  },
  {
    name: 'syscallerrors-overhead',
    title: 'syscallerrors: a storm of failing (ENOENT with a path, EAGAIN, EPIPE with an fd) and succeeding syscalls, traced vs untraced',
    target: '≤1.10× (a tracepoint on every syscall exit)',
    run: syscallerrorsOverhead,
  },
  {
    name: 'tcpresponse-overhead',
    title: 'tcpresponse: one-byte request/response round trips over loopback (one connection, then a connection each), traced vs untraced',
    target: '≤1.10× (a send and a readable socket on each side per round trip)',
    run: tcpresponseOverhead,
  },
  {
    name: 'tcpflow-overhead',
    title: 'tcpflow: one-byte round trips, then a bulk transfer, over one loopback connection, traced vs untraced',
    target: '≤1.05× (a program on every segment received)',
    run: tcpflowOverhead,
  },
  {
    name: 'signals-overhead',
    title: 'signals: 10k handled signals + 1k fork/exit(1), traced vs untraced',
    target: '≤1.10×',
    run: signalsOverhead,
  },
  {
    name: 'offcputime-overhead',
    title:
      'offcputime on an event loop: epoll ping-pong (every wait asleep), then busy-polling (epoll calls that never sleep), untraced vs the old path vs minPollWaitUs 0 vs default',
    target: '≤1.05× over the old path for the event loop (an LRU update at each epoll sleep, a program on every epoll exit)',
    run: offcputimeOverhead,
  },
  {
    name: 'offcputime-repeats',
    title:
      "offcputime on a pipe ping-pong (tens of thousands of blocks a second): a snapshot per block vs repeats of a thread's last snapshots, untraced beside",
    target: '≤1.00× the BPF + user time per block of a snapshot per block, every block with its caller',
    run: offcputimeRepeats,
  },
  {
    name: 'oomkill-overhead',
    title: 'oomkill: 40 OOM kills in a 16 MiB memory cgroup, traced vs untraced',
    target: '≤1.05×',
    run: oomkillOverhead,
  },
  {
    name: 'symbolize',
    title: 'Symbolizing 10k addresses of the node binary, cold vs warm',
    target: 'no target in the issue; figures printed',
    run: symbolizeSpeed,
  },
  {
    name: 'falco-rules',
    title: 'Falco rules: load time of hundreds of rules; events/s through ~120 rules vs none',
    target: 'load < 1 s; events/s printed',
    run: falcoRulesBench,
  },
];

function onSignal(signal: NodeJS.Signals): void {
  process.stderr.write(`\ninterrupted by ${signal}: cleaning up\n`);
  void killTrackedChildren().finally(() => {
    closeAllObjects();
    removeTempDirs();
    process.exit(130);
  });
}

async function main(): Promise<number> {
  const names = process.argv.slice(2);
  const unknown = names.filter((n) => !benchmarks.some((b) => b.name === n));
  if (unknown.length) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
    return 2;
  }
  const missing = missingTracingCapabilities();
  if (missing.length) {
    console.error(`the benchmarks load BPF programs: they need ${missing.join(' and ')} (run as root)`);
    return 2;
  }
  if (typeof (globalThis as { gc?: unknown }).gc !== 'function') {
    console.error('run with node --expose-gc (npm run bench does)');
    return 2;
  }
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const selected = names.length ? benchmarks.filter((b) => names.includes(b.name)) : benchmarks;
  console.log(`Sherlock benchmarks — node ${process.version}, kernel ${release()}, ${cpus().length} CPUs, ${new Date().toISOString()}`);
  console.log('Figures only: the machine is shared, nothing here is a timed assertion.');
  let failed = 0;
  for (const bench of selected) {
    header(bench.name, bench.title, bench.target);
    const t0 = process.hrtime.bigint();
    try {
      await bench.run();
    } catch (err) {
      failed++;
      console.log(`  FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } finally {
      const killed = await killTrackedChildren(); // only what a failed benchmark left behind
      if (killed) console.log(`  warning: ${killed} helper process(es) were still running and were killed`);
    }
    console.log(`  (${bench.name} took ${fmtMs(msSince(t0))})`);
  }
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
