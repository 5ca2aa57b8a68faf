// lockwait's checks: a contended lock (kind mutex) that threads of a process
// waited on for a real share of the window is a cause of latency and of idle
// CPUs. One finding per {process, lock}, naming the code that waited.
// Waits of kind "other" (condition variables, idle pools) are normal: they
// are counted in `checked`, never a finding.
import { makeFinding, num, objs, str, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtPct, fmtSeconds, fmtUs, listText, plural, shortFunction } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';
import type { Frame } from '../../symbolize/types.js';

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

export function analyzeLockwait(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const windowUs = Math.max(1, ctx.windowSeconds * 1e6);
  const locks = objs(data.locks);
  const stacks = objs(data.stacks);
  const mutex = locks.filter((l) => str(l.kind) === 'mutex');
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
  const mutexUs = mutex.reduce((n, l) => n + num(l.totalUs), 0);
  const checked = `lock waits (${fmtUs(mutexUs)} on ${plural(mutex.length, 'contended lock')}; ${fmtUs(otherUs)} in other futex waits, not counted as contention)`;
  return { findings, checked };
}
