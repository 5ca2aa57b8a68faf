// A process's timed sleeps (time.sleep, usleep, nanosleep asked for 10 ms or
// more; the JVM's Thread.sleep, a timed park): idle in a poller's loop, but time lost when a request's thread
// sleeps (a retry's backoff, a rate limiter, a poll for a flag to change).
// Told only as the cause of the process's slow answers, through the threads
// that gave them (in-answers.ts).
import { isObj, objs, str, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { waitName } from './scheduler.js';
import { byPlace, inAnswersFinding, type WaitKind } from './in-answers.js';
import { TIMED_SLEEP } from './waits.js';

/** The C library's sleep calls and a runtime's sleep built on them: what was asked, not who asked. */
const SLEEP_CALLS =
  /^(__)?(GI_)?_*(clock_nanosleep\w*|nanosleep|usleep|sleep|thrd_sleep|time_sleep|pysleep|rb_f_sleep|sleep_hrtime\w*|Perl_pp_sleep|pp_sleep|zif_u?sleep|zif_time_nanosleep|std::this_thread::\w*sleep\w*)$/;
/** A runtime's sleep built on a park, not on nanosleep: the JVM's Thread.sleep (a timed wait on the thread's own event). */
const PARKED_SLEEP = /^(JVM_Sleep|JavaThread::sleep\b.*)$/;
/** Frames of a parked sleep's implementation: the JVM's, the condition variable's, the Java method itself. */
const PARKED_SLEEP_CALLS = /^(JVM_Sleep|JavaThread::sleep\b.*|os::PlatformEvent::park\b.*|(__)?pthread_cond_\w*wait\w*|(void )?java\.lang\.Thread\.sleep\b.*)$/;

/** A timed sleep: in nanosleep (asked long enough: the kernel counted it by thread), or a runtime's over a park. */
export const isSleep = (s: Obj): boolean => {
  const frames = Array.isArray(s.frames) ? s.frames : [];
  return TIMED_SLEEP.test(waitName(frames) ?? '') || frames.some((f) => isObj(f) && PARKED_SLEEP.test(str(f.name)));
};

const SLEEP: WaitKind = {
  id: 'sleep',
  did: 'slept',
  what: 'timed sleeps',
  one: 'sleep',
  why: "a sleep inside a request (a retry's backoff, a rate limiter, a poll for a flag to change) holds its answer up that long",
  next: (where) =>
    `find why ${where.split(' ← ')[0]?.replace(/ \(.*$/, '') || 'it'} sleeps (a retry after a failing call: what fails; a poll: wait on an event, a condition or a queue instead) and take the sleep out of the request's path`,
};

export function sleepFindings(data: Obj, ctx: AnalysisContext): Finding[] {
  return byPlace(objs(data.stacks).filter(isSleep), data, (name) => SLEEP_CALLS.test(name) || PARKED_SLEEP_CALLS.test(name)).map((g) =>
    inAnswersFinding(g, SLEEP, ctx),
  );
}
