// Behind whom a process's slow waits for a CPU ended (runqlat's "behind"
// rows): other processes (a noisy neighbour), its own threads or processes
// of its own name (its load is its own; not when /proc said they were
// another program: another cgroup or executable), or an idle CPU.
import { num, objs, str, type Obj } from '../../analysis/common.js';
import { fmtPct, listText } from '../../format/index.js';

/** Another program's processes of one name, with the share of the waiter's slow-wait time they held the CPU. */
export interface Culprit {
  comm: string;
  pids: number[];
  share: number;
}

export interface WaitedBehind {
  waits: number;
  waitedMs: number;
  /** Shares of that time behind its own threads or same-named processes, an idle CPU, and Sherlock's own processes (its cost, reported apart). */
  own: number;
  idle: number;
  sherlock: number;
  /** Other programs, most first. */
  others: Culprit[];
}

/** A culprit named when it held the CPU for this share of the slow waits at least. */
export const CULPRIT_SHARE = 0.3;
/** Mostly its own: its waits are its own load. */
export const OWN_SHARE = 0.5;

/** How `pid` (named `comm`) waited, from the capture's rows; undefined without rows (older data, or no slow waits). */
export function waitedBehind(data: Obj, pid: number, comm: string): WaitedBehind | undefined {
  const rows = objs(data.behind).filter((r) => num(r.pid) === pid);
  const waitedMs = rows.reduce((n, r) => n + num(r.waitedMs), 0);
  if (!rows.length || waitedMs <= 0) return undefined;
  let own = 0;
  let idle = 0;
  let sherlock = 0;
  const others = new Map<string, { pids: Map<number, number>; ms: number }>();
  for (const r of rows) {
    const ms = num(r.waitedMs);
    const behindPid = num(r.behindPid);
    const behindComm = str(r.behindComm);
    if (behindPid === 0) idle += ms;
    else if (behindPid < 0) sherlock += ms;
    else if (behindPid === pid || (behindComm === comm && r.apart !== true)) own += ms;
    else {
      const o = others.get(behindComm) ?? { pids: new Map(), ms: 0 };
      o.ms += ms;
      o.pids.set(behindPid, (o.pids.get(behindPid) ?? 0) + ms);
      others.set(behindComm, o);
    }
  }
  return {
    waits: rows.reduce((n, r) => n + num(r.waits), 0),
    waitedMs,
    own: own / waitedMs,
    idle: idle / waitedMs,
    sherlock: sherlock / waitedMs,
    others: [...others]
      .map(([c, o]) => ({ comm: c, pids: [...o.pids].sort((a, b) => b[1] - a[1]).map(([p]) => p), share: o.ms / waitedMs }))
      .sort((a, b) => b.share - a.share),
  };
}

/** The share of its slow waits behind other programs: how much it is the one crowded (by a neighbour, not its own load or Sherlock). */
export const crowdedShare = (w: WaitedBehind): number => w.others.reduce((n, c) => n + c.share, 0);

/** The culprit named in a link (`runq-behind:<comm>`: a program, whichever of its processes has the finding; `runq-behind-pid:` when it has the waiter's name), when one held the CPU for enough of the waits. */
export const mainCulprit = (w: WaitedBehind | undefined): Culprit | undefined => (w?.others[0] && w.others[0].share >= CULPRIT_SHARE ? w.others[0] : undefined);

export const culpritLabel = (c: Culprit): string => `${c.comm} (${c.pids.length === 1 ? 'pid' : 'pids'} ${listText(c.pids.map(String), 3)})`;

/** "; its waits over 1 ms ended behind batch (pid 7) 80%": what the text can say of them. */
export function behindText(w: WaitedBehind | undefined, minUs: number): string {
  if (!w) return '';
  const over = `its waits of ${minUs >= 1000 ? `${minUs / 1000} ms` : `${minUs} µs`} or more`;
  const named = w.others.filter((c) => c.share >= 0.15).slice(0, 2);
  if (mainCulprit(w)) return `; ${over} ended behind ${named.map((c) => `${culpritLabel(c)} ${fmtPct(c.share)}`).join(', ')}`;
  if (w.own >= OWN_SHARE) return `; ${over} ended behind its own threads or processes (${fmtPct(w.own)}): its own load`;
  if (w.sherlock >= CULPRIT_SHARE) return `; ${over} ended behind Sherlock's own processes (${fmtPct(w.sherlock)}; its cost is in the report)`;
  if (w.idle >= 0.5)
    return `; ${over} ended on a CPU that had been idle (${fmtPct(w.idle)}): slow to run once woken (its cgroup throttled by a CPU quota, a virtual CPU not running, deep idle states)`;
  return '';
}
