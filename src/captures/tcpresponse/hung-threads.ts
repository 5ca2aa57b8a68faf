// Where a hung server's threads wait: a server that answered nothing in the
// window while it owed requests from before it (unanswered.ts) has threads
// asleep the whole window, which no capture samples. Read from /proc at the
// end (threads-now.ts: kernel stack, user frames by CFI, Python frames) and
// grouped by where in the program each waits.
import { callerOf } from '../offcputime/program-frames.js';
import { waitName } from '../offcputime/scheduler.js';
import { IDLE_WAITS } from '../offcputime/waits.js';
import { threadsNow } from '../threads-now.js';
import type { SideRow } from './sides.js';

export interface ThreadGroup {
  threads: number;
  /** The program's innermost frames ("serve (db.py:28) ← Thread.run (threading.py:982)"), "" when none says. */
  at: string;
  /** The kernel function it sleeps in (futex_do_wait, inet_csk_accept), "" when unknown. */
  wait: string;
  /** An idle wait: for work or a connection, not inside one. */
  idle: boolean;
}

/** Processes read, at most (each ~60 ms), and groups kept per process. */
const MAX_PROCESSES = 4;
const MAX_GROUPS = 4;

/** The thread groups of each server that answered nothing and owes requests from before the window, by pid. */
export function hungThreads(rows: Omit<SideRow, 'cgroupId'>[]): Map<number, ThreadGroup[]> {
  const pids = [...new Set(rows.filter((r) => r.role === 'server' && r.waitingBefore > 0 && !r.answers).map((r) => r.pid))];
  return new Map(pids.slice(0, MAX_PROCESSES).map((pid) => [pid, groups(pid)]));
}

function groups(pid: number): ThreadGroup[] {
  const byPlace = new Map<string, ThreadGroup>();
  for (const t of threadsNow(pid)) {
    const at = callerOf(t.frames, () => false);
    const wait = waitName(t.frames) ?? '';
    const id = `${at}\0${wait}`;
    const group = byPlace.get(id);
    if (group) group.threads++;
    else byPlace.set(id, { threads: 1, at, wait, idle: IDLE_WAITS.test(wait) });
  }
  // Waits inside work first (a lock, a disk, an upstream), then the idle; the most threads first.
  return [...byPlace.values()].sort((a, b) => Number(a.idle) - Number(b.idle) || b.threads - a.threads).slice(0, MAX_GROUPS);
}
