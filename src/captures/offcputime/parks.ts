// A process's parked waits: a thread waiting for another to hand something
// over (a free connection from its pool, a queue's next item, a condition to
// change). Idle in a pool's threads between tasks, which the analysis leaves
// out, but time lost when a request's thread parks: told only as the cause
// of the process's slow answers, through the threads that gave them
// (in-answers.ts).
import { isObj, str, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { byPlace, inAnswersFinding, type WaitKind } from './in-answers.js';
import { LOCK_CALLERS, PARK_CALLERS } from './waits.js';
import { gilTakeFrame } from '../gil-frames.js';
import { isSleep } from './sleeps.js';

const PARK: WaitKind = {
  id: 'park',
  did: 'waited',
  what: 'parked waits',
  one: 'wait',
  why: "a request's thread parked until another of its threads hands something over (a free connection from a pool, a queue's next item, a condition to change), and its answer waited as long",
  next: (where) =>
    `what ${where.split(' ← ')[0]?.replace(/ \(.*$/, '') || 'it'} waits for: a pool with nothing free (its connections checked out and held elsewhere, by a leak or a job keeping them, or too few for its load), or a queue its workers do not keep up with`,
};

/** The park's own frames: the lock and condition calls, and threading's Python code over them (Condition.wait). */
const implementation = (name: string, file: string) => PARK_CALLERS.test(name) || LOCK_CALLERS.test(name) || /(^|\/)threading\.py$/.test(file);

/** A pool's worker waiting for its next task between requests: idle, whatever thread it is. */
const IDLE_WORKER = /^(java\.util\.concurrent\.)?(ThreadPoolExecutor\.getTask|ForkJoinPool\.awaitWork)\b/;
const isIdleWorker = (f: Obj) => IDLE_WORKER.test(str(f.name)) || (str(f.name) === '_worker' && str(f.file).endsWith('concurrent/futures/thread.py'));

/** Not a park of the program's: an idle worker's wait, a Python thread taking its GIL back (lockwait's), a runtime's sleep over a park (sleeps.ts). */
const notAPark = (s: Obj) => {
  const frames = Array.isArray(s.frames) ? s.frames : [];
  return isSleep(s) || gilTakeFrame(frames) !== undefined || frames.some((f) => isObj(f) && isIdleWorker(f));
};

/**
 * Parked stacks counted by thread (those the analysis left out as idle): a finding per process and place, only as a
 * cause. A park no frame of the program's names (a JVM's interpreted methods) is left out: as likely a pool's idle thread.
 */
export function parkFindings(parked: Obj[], data: Obj, ctx: AnalysisContext): Finding[] {
  return byPlace(
    parked.filter((s) => !notAPark(s)),
    data,
    implementation,
    3,
  )
    .filter((g) => g.where !== '')
    .map((g) => inAnswersFinding(g, PARK, ctx));
}
