// CPU findings: hot functions and busy processes (profile), where threads
// block off the CPU outside ordinary idle waits (offcputime), and run-queue
// latency (runqlat).
import {
  isObj, latencySeverity, makeFinding, num, objs, str,
  type CaptureAnalysis, type CaptureContext, type Obj,
} from './common.js';
import { fmtMs, fmtPct, fmtSeconds, fmtUs, plural, processLabel } from './format.js';
import { bucketsOf, quantile, totalOf } from './histogram.js';
import type { Finding } from './types.js';

interface FrameLike {
  name: string;
  kind: string;
  module?: string;
}

const frameOf = (f: Obj): FrameLike => ({ name: str(f.name) || '?', kind: str(f.kind), ...(str(f.module) ? { module: str(f.module) } : {}) });

function framesOf(stack: Obj): FrameLike[] {
  return objs(stack.frames).map(frameOf);
}

/** The leaf frame alone (profiles are large: the other frames are read only for evidence). */
function leafOf(stack: Obj): FrameLike | undefined {
  const frames = Array.isArray(stack.frames) ? stack.frames : [];
  for (let i = frames.length - 1; i >= 0; i--) if (isObj(frames[i])) return frameOf(frames[i] as Obj);
  return undefined;
}

const functionLabel = (f: FrameLike) => (f.module && f.kind !== 'kernel' ? `${f.name} (${f.module})` : f.kind === 'kernel' ? `${f.name} [kernel]` : f.name);

/** Leaf-first frame names, shortened, for evidence. */
const stackText = (frames: FrameLike[], max = 12) => [...frames].reverse().slice(0, max).map(functionLabel);

const MIN_PROFILE_SAMPLES = 50;
const MIN_FUNCTION_SAMPLES = 20;
const MAX_PROCESS_FINDINGS = 5;

export function analyzeProfile(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const stacks = objs(data.stacks);
  const total = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
  const frequency = num(data.frequency) || 99;
  const cpuSeconds = total / frequency;
  const checked = `CPU profile (${plural(total, 'sample')}, ~${+cpuSeconds.toFixed(1)} CPU-seconds)`;
  if (total < MIN_PROFILE_SAMPLES) return { findings, checked };

  // Per process: its samples, and its functions by self samples (where the CPU was).
  const processes = new Map<number, { pid: number; comm: string; samples: number; functions: Map<string, { frame: FrameLike; self: number; stacks: Obj[] }> }>();
  for (const s of stacks) {
    const pid = num(s.pid);
    const value = num(s.value);
    if (value <= 0) continue;
    let p = processes.get(pid);
    if (!p) processes.set(pid, (p = { pid, comm: str(s.comm), samples: 0, functions: new Map() }));
    p.samples += value;
    const leaf = leafOf(s);
    if (!leaf) continue;
    const id = `${leaf.name}\0${leaf.module ?? ''}`;
    let f = p.functions.get(id);
    if (!f) p.functions.set(id, (f = { frame: leaf, self: 0, stacks: [] }));
    f.self += value;
    if (f.stacks.length < 3) f.stacks.push(s);
  }

  const hotPct = ctx.thresholds.cpuHotFunctionPct;
  const busyCores = ctx.thresholds.cpuBusyCores;
  const window = Math.max(0.001, ctx.windowSeconds);
  const candidates: Finding[] = [];
  for (const p of processes.values()) {
    const cpus = p.samples / frequency / window;
    const functions = [...p.functions.values()].sort((a, b) => b.self - a.self);
    const hot = functions.filter((f) => f.self >= MIN_FUNCTION_SAMPLES && (f.self / total) * 100 >= hotPct);
    const busy = cpus >= busyCores;
    if (!hot.length && !busy) continue;
    const who = processLabel(p.comm, p.pid);
    const top = functions.slice(0, 5).map((f) => ({
      function: f.frame.name,
      ...(f.frame.module ? { module: f.frame.module } : {}),
      kind: f.frame.kind,
      samples: f.self,
      pctOfProfile: round((f.self / total) * 100),
      pctOfProcess: round((f.self / p.samples) * 100),
    }));
    const evidence = {
      pid: p.pid,
      comm: p.comm,
      samples: p.samples,
      profileSamples: total,
      cpus: round(cpus),
      frequency,
      thresholdPct: hotPct,
      busyCores,
      topFunctions: top,
      hotStacks: (hot[0] ?? functions[0])?.stacks.map((s) => ({ samples: num(s.value), frames: stackText(framesOf(s)) })) ?? [],
    };
    let title: string;
    if (hot.length) {
      const f = hot[0]!;
      title =
        `${fmtPct(f.self / total)} of the CPU samples are in ${functionLabel(f.frame)} in ${who} (threshold ${hotPct}%)` +
        (hot.length > 1 ? `, then ${hot.slice(1, 3).map((h) => `${h.frame.name} ${fmtPct(h.self / total)}`).join(', ')}` : '') +
        `; the process used ${cpus.toFixed(2)} CPUs over ${fmtSeconds(window)}.`;
    } else {
      title =
        `${who} used ${cpus.toFixed(2)} CPUs on average over ${fmtSeconds(window)} (threshold ${busyCores}), spread over many functions: ` +
        `${functions.slice(0, 3).map((f) => `${f.frame.name} ${fmtPct(f.self / p.samples)}`).join(', ')}.`;
    }
    // A hot function of a nearly idle process is worth knowing, not a problem.
    const severity = busy || cpus >= 0.5 ? 'warning' : 'info';
    const score = Math.max(hot.length ? hot[0]!.self / total / (hotPct / 100) : 0, cpus / Math.max(0.01, busyCores));
    candidates.push(makeFinding(ctx, `process:${p.pid}`, severity, title, evidence, score));
  }
  candidates.sort((a, b) => b.score - a.score);
  findings.push(...candidates.slice(0, MAX_PROCESS_FINDINGS));
  return { findings, checked };
}

// Off-CPU: ordinary idle waits (event loops, sleeps, accept, reads of an idle
// pipe or socket, kernel threads' loops) are how a healthy process waits; what
// is left is time blocked while it had work: disk, locks, memory, full buffers.
const SCHEDULER = /^(__schedule|schedule|schedule_\w+|__schedule_\w+|preempt_schedule\w*|io_schedule\w*|__cond_resched|finish_task_switch\S*|__switch_to\w*)$/;
const IDLE_WAITS = new RegExp(
  '^(' +
    [
      'do_epoll_wait', 'ep_poll', 'do_sys_poll', 'do_poll', 'do_select', 'core_sys_select', 'do_nanosleep', 'hrtimer_nanosleep',
      'common_nsleep', 'clock_nanosleep', 'inet_csk_accept', 'inet_csk_wait_for_connect', 'do_wait', 'kernel_wait4', 'do_sigtimedwait',
      'sigsuspend', 'sys_pause', '__x64_sys_pause', '__arm64_sys_pause', 'pipe_read', 'pipe_wait_readable', 'sk_wait_data', 'wait_woken',
      'unix_stream_read_generic', 'unix_stream_data_wait', '__skb_wait_for_more_packets', 'n_tty_read', 'tty_read', 'inotify_read',
      'signalfd_dequeue', 'eventfd_read', 'io_cqring_wait', 'kthread', 'worker_thread', 'smpboot_thread_fn', 'rcu_gp_kthread',
      'do_idle', 'rescuer_thread', 'kthreadd', 'ksoftirqd_should_run', 'rcu_tasks_kthread', 'watchdog', 'kcompactd', 'khugepaged', 'kswapd',
    ].join('|') +
    ')$',
);
const FUTEX = /^(futex_wait\w*|__futex_wait\w*|futex_do_wait)$/;
/** A futex wait this long on average is a parked thread (a pool's condition variable), not contention. */
const PARKED_FUTEX_US = 100_000;
const KERNEL_THREAD = /^(kworker|ksoftirqd|rcu_|migration|cpuhp|idle_inject|irq\/|kthreadd|watchdog|khugepaged|kcompactd|kswapd|jbd2|scsi_|card\d|ext4-)/;

/** The innermost kernel frame that is not the scheduler: what the thread waited in. Reads raw frames from the leaf up. */
function waitFrameOf(frames: unknown[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (!isObj(f) || f.kind !== 'kernel') break;
    const name = str(f.name);
    if (!SCHEDULER.test(name)) return name || '?';
  }
  return undefined;
}

function userLeafOf(frames: unknown[]): string | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i];
    if (isObj(f) && (f.kind === 'user' || f.kind === 'jit' || f.kind === 'unknown')) return str(f.name) || '?';
  }
  return undefined;
}

function waitKind(frames: FrameLike[]): string {
  const names = frames.map((f) => f.name).join(' ');
  if (/\b(io_schedule|blk_mq|bio_|folio_wait|wait_on_page|__lock_page|bit_wait_io|submit_bio|filemap_fault|jbd2)/.test(names)) return 'waiting for disk I/O';
  if (/\bfutex/.test(names)) return 'waiting for a lock (futex)';
  if (/\b(mutex_lock|rwsem|down_read|down_write|__down)/.test(names)) return 'waiting for a kernel lock';
  if (/\b(sk_stream_wait_memory|tcp_sendmsg)/.test(names)) return 'waiting for socket send buffer space';
  if (/\b(handle_mm_fault|do_page_fault|exc_page_fault|swap)/.test(names)) return 'waiting on memory (page faults)';
  return 'blocked';
}

const MIN_OFFCPU_WINDOW_SHARE = 0.1;

export function analyzeOffcputime(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const stacks = objs(data.stacks);
  const totalUs = num(data.total) || stacks.reduce((n, s) => n + num(s.value), 0);
  const blocks = num(data.blocks) || stacks.reduce((n, s) => n + num(s.blocks), 0);
  const checked = `off-CPU time (${fmtUs(totalUs)} in ${plural(blocks, 'wait')})`;
  const windowUs = Math.max(1, ctx.windowSeconds * 1e6);

  // Work waits, grouped by process, what they waited in and the user frame that called.
  const groups = new Map<string, { pid: number; comm: string; wait: string; user?: string; us: number; blocks: number; stacks: Obj[] }>();
  let workUs = 0;
  for (const s of stacks) {
    const us = num(s.value);
    const n = Math.max(1, num(s.blocks));
    if (us <= 0) continue;
    const comm = str(s.comm);
    if (KERNEL_THREAD.test(comm)) continue;
    const frames = Array.isArray(s.frames) ? s.frames : [];
    const waitName = waitFrameOf(frames) ?? '?';
    if (IDLE_WAITS.test(waitName)) continue;
    if (FUTEX.test(waitName) && us / n >= PARKED_FUTEX_US) continue;
    const user = userLeafOf(frames);
    const key = `${num(s.pid)}\0${waitName}\0${user ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { pid: num(s.pid), comm, wait: waitName, ...(user ? { user } : {}), us: 0, blocks: 0, stacks: [] }));
    g.us += us;
    g.blocks += n;
    if (g.stacks.length < 3) g.stacks.push(s);
    workUs += us;
  }
  const threshold = ctx.thresholds.offcpuHotStackPct;
  const ranked = [...groups.values()].sort((a, b) => b.us - a.us);
  for (const g of ranked.slice(0, 3)) {
    const share = workUs ? g.us / workUs : 0;
    const windowShare = g.us / windowUs;
    if (share * 100 < threshold || windowShare < MIN_OFFCPU_WINDOW_SHARE) continue;
    const who = processLabel(g.comm, g.pid);
    const kind = waitKind(framesOf(g.stacks[0]!));
    const title =
      `${who} spent ${fmtUs(g.us)} (${fmtPct(windowShare)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over threads) ${kind} in ${g.wait}` +
      (g.user ? ` called from ${g.user}` : '') +
      `: ${fmtPct(share)} of its non-idle off-CPU time (threshold ${threshold}%), ${plural(g.blocks, 'wait')} of ${fmtUs(g.us / Math.max(1, g.blocks))} on average.`;
    findings.push(
      makeFinding(ctx, `wait:${g.pid}:${g.wait}:${g.user ?? ''}`, 'warning', title, {
        pid: g.pid,
        comm: g.comm,
        waitingIn: g.wait,
        ...(g.user ? { userFrame: g.user } : {}),
        kind,
        offCpuMs: round(g.us / 1000),
        blocks: g.blocks,
        avgMs: round(g.us / Math.max(1, g.blocks) / 1000),
        shareOfWork: round(share),
        shareOfWindow: round(windowShare),
        thresholdPct: threshold,
        stacks: g.stacks.map((s) => ({ offCpuMs: round(num(s.value) / 1000), blocks: num(s.blocks), frames: stackText(framesOf(s)) })),
      }, share / Math.max(0.01, threshold / 100)),
    );
  }
  return { findings, checked };
}

const MIN_RUNQ_WAITS_ALL = 100;
const MIN_RUNQ_WAITS_GROUP = 50;

export function analyzeRunqlat(data: Obj, ctx: CaptureContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const thresholdMs = ctx.thresholds.runqP99Ms;
  const thresholdUs = thresholdMs * 1000;
  const histograms = objs(data.histograms);
  const overall = histograms.find((h) => (h.labels as Obj | undefined)?.scope === 'all');
  const overallBuckets = bucketsOf(overall?.histogram as Obj);
  const waits = totalOf(overallBuckets);
  if (waits >= MIN_RUNQ_WAITS_ALL) {
    const p99 = quantile(overallBuckets, 0.99);
    if (p99 > thresholdUs) {
      findings.push(
        makeFinding(ctx, 'all', latencySeverity(p99, thresholdUs),
          `Runnable tasks waited ${fmtUs(p99)} for a CPU at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(waits, 'wakeup')}: the CPUs are saturated or something hogs them.`,
          { scope: 'all', waits, p50Ms: round(quantile(overallBuckets, 0.5) / 1000), p99Ms: round(p99 / 1000), thresholdMs, buckets: overallBuckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })) },
          p99 / thresholdUs),
      );
    }
  }
  const groups: Finding[] = [];
  for (const h of histograms) {
    const labels = (h.labels as Obj | undefined) ?? {};
    if (labels.scope === 'all') continue;
    const buckets = bucketsOf(h.histogram as Obj);
    const n = totalOf(buckets);
    if (n < MIN_RUNQ_WAITS_GROUP) continue;
    const p99 = quantile(buckets, 0.99);
    if (p99 <= thresholdUs) continue;
    const who = labels.cgroup !== undefined ? `cgroup ${str(labels.cgroup)}` : processLabel(labels.comm, labels.pid);
    groups.push(
      makeFinding(ctx, `group:${labels.cgroup !== undefined ? str(labels.cgroup) : `${num(labels.pid)}:${str(labels.comm)}`}`, latencySeverity(p99, thresholdUs),
        `${who} waited ${fmtUs(p99)} for a CPU at p99 (threshold ${fmtMs(thresholdMs)}) over ${plural(n, 'wakeup')}.`,
        { ...labels, waits: n, p50Ms: round(quantile(buckets, 0.5) / 1000), p99Ms: round(p99 / 1000), thresholdMs, buckets: buckets.map((b) => ({ lowUs: b.low, highUs: b.high, count: b.count })) },
        p99 / thresholdUs),
    );
  }
  groups.sort((a, b) => b.score - a.score);
  findings.push(...groups.slice(0, 3));
  return { findings, checked: `run-queue latency (${plural(waits || histograms.reduce((s, h) => s + totalOf(bucketsOf(h.histogram as Obj)), 0), 'wait')})` };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

