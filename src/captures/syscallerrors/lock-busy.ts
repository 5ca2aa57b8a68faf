// A lock polled without waiting: a process whose lock calls (fcntl F_SETLK,
// flock LOCK_NB) keep finding the lock held and retry between sleeps
// (SQLite's busy timeout, a lock-file loop). EAGAIN is normal for one try;
// the time between its failed tries is the wait (sleeps are no off-CPU wait
// any capture counts), and the holder comes from /proc/locks.
import { fmtPct, fmtSeconds, plural, processLabel } from '../../format/index.js';
import { isObj, makeFinding, num, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { isLockBusy } from './lock-holders.js';

/** Tries that found the lock held, and the share of the window spent retrying, before it is a finding. */
const MIN_TRIES = 5;
const MIN_RETRY_SHARE = 0.05;

/** One finding per process and locked file; the rows it tells (left out of the failure counts). */
export function lockBusyFindings(rows: Obj[], ctx: AnalysisContext): { findings: Finding[]; told: Set<Obj> } {
  const window = Math.max(ctx.windowSeconds, 1e-3);
  const byLock = new Map<string, Obj[]>();
  for (const r of rows) {
    const file = isObj(r.fdTarget) && r.fdTarget.kind === 'file' ? str(r.fdTarget.name) : '';
    if (!file || !isLockBusy(str(r.syscall), str(r.errno))) continue;
    const key = `${num(r.pid)}\0${file}`;
    byLock.set(key, [...(byLock.get(key) ?? []), r]);
  }
  const findings: Finding[] = [];
  const told = new Set<Obj>();
  for (const group of byLock.values()) {
    const tries = group.reduce((n, r) => n + num(r.count), 0);
    const retryS = group.reduce((n, r) => n + num(r.retryMs), 0) / 1000;
    if (tries < MIN_TRIES || retryS < window * MIN_RETRY_SHARE) continue;
    const first = group[0]!;
    const file = str((first.fdTarget as Obj).name);
    const holder = group.map((r) => r.lockHolder).find(isObj);
    const who = processLabel(first.comm, first.pid);
    const calls = [...new Set(group.map((r) => `${str(r.syscall)}: ${str(r.errno)}`))].join(', ');
    const held = holder
      ? `; ${processLabel(holder.comm, holder.pid)} held it (a ${str(holder.type)} ${str(holder.mode)} lock) in ${fmtPct(num(holder.heldShare))} of the window's reads of /proc/locks`
      : '';
    const next = holder
      ? `what ${str(holder.comm)} does while it holds the lock (a long transaction, a VACUUM, a backup): shorter, or apart from ${str(first.comm)}'s busy hours`
      : 'who holds it (lslocks, /proc/locks)';
    const title =
      `${who} found the lock on ${file} held ${plural(tries, 'time')} in ${fmtSeconds(window)} (${calls}) and retried between sleeps for ${fmtSeconds(retryS)} ` +
      `(${fmtPct(retryS / window)} of the window): a lock polled without waiting (SQLite's busy timeout, a lock-file loop) keeps its caller waiting ` +
      `as long as the holder keeps it${held}; next: ${next}.`;
    for (const r of group) told.add(r);
    findings.push({
      ...makeFinding(
        ctx,
        `lock-busy:${num(first.pid)}:${file}`,
        'warning',
        title,
        { pid: num(first.pid), comm: str(first.comm), path: file, tries, retryMs: Math.round(retryS * 1000), ...(holder ? { holder } : {}) },
        retryS / window,
        timeImpact(retryS, window, `${fmtSeconds(retryS)} between ${plural(tries, 'failed try', 'failed tries')}`, ['latency']),
      ),
      cause: { key: `lock on ${file}${holder ? ` held by ${str(holder.comm)}` : ''}`, subject: `${who}` },
    });
  }
  return { findings, told };
}
