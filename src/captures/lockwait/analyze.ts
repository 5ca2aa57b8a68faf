// lockwait's checks: a contended lock (kind mutex) that threads of a process
// waited on for a real share of the window is a cause of latency and of idle
// CPUs. One finding per {process, lock}, naming the code that waited.
// Waits of kind "other" (condition variables, idle pools) are normal: they
// are counted in `checked`, never a finding, except Python's GIL: threads
// waiting to take it back (after I/O, a sleep) while another of the process's
// threads runs Python code on a CPU. One finding per process, its waits on the
// GIL's condition variable and mutex together. Likewise a managed runtime's
// threads waiting for its garbage collector (the JVM's heap lock, held through
// a collection; its safepoints): the collector's finding, not a lock's.
import { makeFinding, num, objs, str, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtPct, fmtSeconds, fmtUs, listText, plural, shortFunction } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';
import type { Frame } from '../../symbolize/types.js';
import { gcWaitClassifier, type GcRuntime } from '../gc-frames.js';
import { gilTakeFrame } from '../gil-frames.js';

/** Waiting on one lock for this share of the window (summed over threads): a warning, ... */
const WARN_WINDOW_SHARE = 0.05;
/** ... critical at this share (half a thread's worth of the window, or more). */
const CRITICAL_WINDOW_SHARE = 0.5;
/** Fewer waits than this are a blip, whatever their length. */
const MIN_WAITS = 5;
const MAX_FINDINGS = 5;

/** Frames of the lock implementation itself (glibc, the futex wrappers): the caller is below them. */
const LOCK_IMPL =
  /^(__lll_\w+|lll_\w+|__pthread_mutex_\w+|pthread_mutex_\w+|___pthread_mutex_\w+|__pthread_rwlock_\w+|pthread_rwlock_\w+|__futex\w*|futex\w*|syscall|__GI_\w+|__new_sem_wait\w*|sem_wait\w*|do_futex_wait\w*|std::__\w+|_ZNSt\w*mutex\w*)$/;
const LOCK_MODULE = /^(libc|libpthread|ld-linux)[.-]/;

/** The innermost user frame that is not the lock implementation: the code that wanted the lock. */
export function callerFrame(frames: Frame[]): Frame | undefined {
  for (let i = frames.length - 1; i >= 0; i--) {
    const f = frames[i]!;
    if (f.kind === 'kernel') continue;
    if (LOCK_IMPL.test(f.name) || LOCK_MODULE.test(f.module?.split('/').at(-1) ?? '')) continue;
    return f;
  }
  return undefined;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const framesOf = (s: Obj): Frame[] =>
  objs(s.frames).map((f) => ({ name: str(f.name), kind: str(f.kind) as Frame['kind'], ...(f.module ? { module: str(f.module) } : {}) }));

/** A process's waits of one kind (for the GIL, for its garbage collector), named as its lock rows name it (the process, not a waiting thread). */
interface ProcessWaits {
  comm: string;
  us: number;
  waits: number;
  maxUs: number;
  /** Per futex word waited on, the time (the GIL's condition variable and mutex, the JVM's heap lock). */
  lockUs: Map<string, number>;
  /** Per frame that said what the wait was, the time. */
  frames: Map<string, number>;
}

/** Per process, the waits `classify` names (by a frame of theirs). */
function processWaits(stacks: Obj[], locks: Obj[], classify: (s: Obj) => string | undefined): Map<number, ProcessWaits> {
  const byPid = new Map<number, ProcessWaits>();
  for (const s of stacks) {
    const frame = classify(s);
    if (!frame) continue;
    const pid = num(s.pid);
    let w = byPid.get(pid);
    const comm = () => str(locks.find((l) => num(l.pid) === pid && str(l.lock) === str(s.lock))?.comm) || str(s.comm);
    if (!w) byPid.set(pid, (w = { comm: comm(), us: 0, waits: 0, maxUs: 0, lockUs: new Map(), frames: new Map() }));
    const us = num(s.value);
    w.us += us;
    w.waits += num(s.waits);
    w.maxUs = Math.max(w.maxUs, num(s.maxUs));
    w.lockUs.set(str(s.lock), (w.lockUs.get(str(s.lock)) ?? 0) + us);
    w.frames.set(frame, (w.frames.get(frame) ?? 0) + us);
  }
  return byPid;
}

/** A lock whose waits were mostly of one of these kinds is that kind's finding, not a lock of the program's. */
const explainedBy = (l: Obj, kinds: Map<number, ProcessWaits>[]) => kinds.some((k) => (k.get(num(l.pid))?.lockUs.get(str(l.lock)) ?? 0) * 2 >= num(l.totalUs));

const gilFrame = (s: Obj) => gilTakeFrame(objs(s.frames));

/** The collector's runtime, per process, and a stack's innermost frame saying it waited for it. */
function collectorWaits(stacks: Obj[], locks: Obj[]): { waits: Map<number, ProcessWaits>; runtimes: Map<number, GcRuntime> } {
  const gcWaitOf = gcWaitClassifier();
  const runtimes = new Map<number, GcRuntime>();
  const waits = processWaits(stacks, locks, (s) => {
    const gc = gcWaitOf(
      objs(s.frames).map((f) => str(f.name)),
      str(s.comm),
    );
    if (gc) runtimes.set(num(s.pid), gc.runtime);
    return gc?.frame;
  });
  return { waits, runtimes };
}

export function analyzeLockwait(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const windowUs = Math.max(1, ctx.windowSeconds * 1e6);
  const locks = objs(data.locks);
  const stacks = objs(data.stacks);
  const gil = processWaits(stacks, locks, gilFrame);
  const gc = collectorWaits(stacks, locks);
  // The GIL's own mutex, contended, is the GIL's finding; a heap lock a collection holds, the collector's.
  const mutex = locks.filter((l) => str(l.kind) === 'mutex' && !explainedBy(l, [gil, gc.waits]));
  const otherUs = locks.filter((l) => str(l.kind) !== 'mutex').reduce((n, l) => n + num(l.totalUs), 0);
  const findings: Finding[] = [];
  for (const l of mutex.sort((a, b) => num(b.totalUs) - num(a.totalUs)).slice(0, MAX_FINDINGS)) {
    const us = num(l.totalUs);
    const waits = num(l.waits);
    const share = us / windowUs;
    if (share < WARN_WINDOW_SHARE || waits < MIN_WAITS) continue;
    const pid = num(l.pid);
    const lock = str(l.lock);
    const mine = stacks.filter((s) => num(s.pid) === pid && str(s.lock) === lock && str(s.kind) === 'mutex').sort((a, b) => num(b.value) - num(a.value));
    const callers = [...new Set(mine.map((s) => callerFrame(framesOf(s))?.name).filter((n): n is string => !!n))].map(shortFunction);
    const from = callers.length ? `, waiting in ${listText(callers, 3)}` : '';
    const who = `${str(l.comm) || '?'} (pid ${pid})`;
    const title =
      `${who} on ${ctx.node} waited ${fmtUs(us)} on lock ${lock} (${fmtPct(share)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over threads) ` +
      `in ${plural(waits, 'wait')} of ${fmtUs(us / Math.max(1, waits))} on average, at most ${fmtUs(num(l.maxUs))}${from}: ` +
      `find what holds it and for how long (profile or offcputime of ${who}), or split the lock.`;
    findings.push(
      makeFinding(
        ctx,
        `lock:${pid}:${lock}`,
        share >= CRITICAL_WINDOW_SHARE ? 'critical' : 'warning',
        title,
        {
          pid,
          comm: str(l.comm),
          lock,
          waitMs: round(us / 1000),
          waits,
          avgMs: round(us / Math.max(1, waits) / 1000),
          maxMs: round(num(l.maxUs) / 1000),
          callers,
          stacks: mine.slice(0, 3).map((s) => ({
            waitMs: round(num(s.value) / 1000),
            waits: num(s.waits),
            frames: framesOf(s)
              .map((f) => f.name)
              .reverse(),
          })),
          impact: { windowShareLost: round(share), lostMs: round(us / 1000) },
        },
        share * 100,
      ),
    );
    // Threads blocked on a lock answer late: it explains the process's slow answers (tcpresponse), after its upstreams.
    findings.at(-1)!.links = { explains: [`blocked-pid:${pid}`] };
  }
  for (const [pid, g] of gil) {
    const share = g.us / windowUs;
    if (share < WARN_WINDOW_SHARE || g.waits < MIN_WAITS) continue;
    const who = `${g.comm || '?'} (pid ${pid})`;
    const title =
      `${who} on ${ctx.node}: its threads waited ${fmtUs(g.us)} for Python's GIL (${fmtPct(share)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over threads) ` +
      `in ${plural(g.waits, 'wait')} of ${fmtUs(g.us / Math.max(1, g.waits))} on average, at most ${fmtUs(g.maxUs)}: a thread of it runs Python code on a CPU, ` +
      `and every other one, back from I/O or a sleep, waits for its turn (up to the switch interval, 5 ms, each time); ` +
      `next: what it runs (profile), moved to a process of its own (multiprocessing) or to native code that releases the GIL.`;
    const finding = makeFinding(
      ctx,
      `gil:${pid}`,
      share >= CRITICAL_WINDOW_SHARE ? 'critical' : 'warning',
      title,
      {
        pid,
        comm: g.comm,
        lock: 'gil',
        waitMs: round(g.us / 1000),
        waits: g.waits,
        avgMs: round(g.us / Math.max(1, g.waits) / 1000),
        maxMs: round(g.maxUs / 1000),
        impact: { windowShareLost: round(share), lostMs: round(g.us / 1000) },
      },
      share * 100,
    );
    // What holds it is the process's own CPU (profile: its hot function explains this wait; its cgroup's quota, when that throttles it);
    // threads waiting for it answer late; offcputime's view of these waits repeats it.
    finding.links = { shows: [`gil-of:${pid}`], explains: [`blocked-pid:${pid}`, `gil-wait:${pid}`] };
    findings.push(finding);
  }
  for (const [pid, w] of gc.waits) {
    const finding = collectorFinding(pid, w, gc.runtimes.get(pid)!, ctx);
    if (finding) findings.push(finding);
  }
  const mutexUs = mutex.reduce((n, l) => n + num(l.totalUs), 0);
  const checked = `lock waits (${fmtUs(mutexUs)} on ${plural(mutex.length, 'contended lock')}; ${fmtUs(otherUs)} in other futex waits, not counted as contention)`;
  return { findings, checked };
}

/**
 * A program's threads waiting for its garbage collector: allocations that found no room wait for a collection (or
 * for the heap lock one holds), threads stopped while it runs. The collector's CPU (profile) explains it.
 */
function collectorFinding(pid: number, w: ProcessWaits, runtime: GcRuntime, ctx: AnalysisContext): Finding | undefined {
  const share = w.us / Math.max(1, ctx.windowSeconds * 1e6);
  if (share < WARN_WINDOW_SHARE || w.waits < MIN_WAITS) return undefined;
  const who = `${w.comm || '?'} (pid ${pid})`;
  const frames = topKeys(w.frames, Infinity).map((f) => shortFunction(f));
  const title =
    `${who} on ${ctx.node}: its threads waited ${fmtUs(w.us)} for ${runtime.runtime}'s garbage collector (${fmtPct(share)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed over threads) ` +
    `in ${plural(w.waits, 'wait')} of ${fmtUs(w.us / Math.max(1, w.waits))} on average, at most ${fmtUs(w.maxUs)}, in ${listText(frames, 3)}: ` +
    `while it collects, allocations that find no room and threads stopped for it wait; next: ${runtime.next}.`;
  const finding = makeFinding(
    ctx,
    `gc-wait:${pid}`,
    share >= CRITICAL_WINDOW_SHARE ? 'critical' : 'warning',
    title,
    {
      pid,
      comm: w.comm,
      lock: 'gc',
      runtime: runtime.runtime,
      waitMs: round(w.us / 1000),
      waits: w.waits,
      avgMs: round(w.us / Math.max(1, w.waits) / 1000),
      maxMs: round(w.maxUs / 1000),
      frames: frames.slice(0, 5),
      impact: { windowShareLost: round(share), lostMs: round(w.us / 1000) },
    },
    share * 100,
  );
  // The collector's own CPU (profile) explains it; threads waiting for it answer late; offcputime's view of these waits repeats it.
  finding.links = { shows: [`gc-of:${pid}`], explains: [`blocked-pid:${pid}`, `gc-wait:${pid}`] };
  return finding;
}
