// A database's waits for another transaction. PostgreSQL's backends sleep on
// their latch (epoll_wait, which the kernel counts as idle) both between
// queries and when a query waits for a lock another transaction holds, or for
// its synchronous standby: only the user stack tells them apart (ProcSleep is
// the lock manager's sleep). The kernel times long epoll waits by thread with
// their stacks (bpf/offcputime: min_poll_wait_us); those named here are work,
// the rest stay idle. A lock's holder is a backend idle in its transaction
// (a transaction left open, and its client), one committing and waiting for
// its standby, or one running a statement all along; a wait still going on
// when the window ends is known by its backend's title (postgres-backends.ts).
import { isObj, makeFinding, num, objs, str, timeImpact, type AnalysisContext, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { framesOf, processNameOf, stackText, type FrameLike } from '../../analysis/stack-frames.js';
import { fmtCount, fmtMs, fmtPct, fmtSeconds, listText, plural, processLabel, round } from '../../format/index.js';
import { isHolder, type BackendSeen, type Standby } from './postgres-backends.js';
import { doing } from './blocker-text.js';

export interface DatabaseWait {
  id: string;
  /** What it waited for, after "waited 2 s for". */
  what: string;
  /** Why such a wait happens. */
  why: string;
  /** A transaction holds what it waits for: its holder is looked for. */
  held: boolean;
  next: string;
}

const BLOCKING_QUERY =
  "SELECT pid, pg_blocking_pids(pid), wait_event, state, query FROM pg_stat_activity WHERE wait_event_type = 'Lock' names the blocking backends";

const ROW_LOCK: DatabaseWait = {
  id: 'row-lock',
  what: 'row locks other transactions held',
  why: 'an UPDATE, DELETE or SELECT ... FOR UPDATE of a row another transaction has changed waits until that transaction ends',
  held: true,
  next: 'keep transactions that change hot rows short (nothing slow between their first write and their commit); lock_timeout bounds each wait',
};
const TABLE_LOCK: DatabaseWait = {
  id: 'table-lock',
  what: 'table locks other transactions held or were waiting for',
  why: 'a statement that locks a table waits behind a stronger lock on it (ALTER TABLE, VACUUM FULL, REINDEX, LOCK TABLE), and every later query of that table queues behind the waiting one',
  held: true,
  next: 'run schema changes with a short lock_timeout (and retry) so they do not queue every query behind them',
};
const ADVISORY_LOCK: DatabaseWait = {
  id: 'advisory-lock',
  what: 'advisory locks other sessions held (pg_advisory_lock)',
  why: 'the application serialises work on these locks itself',
  held: true,
  next: 'find what the holding session does while it holds the lock (pg_locks, locktype advisory)',
};
const OTHER_LOCK: DatabaseWait = {
  id: 'lock',
  what: 'locks other transactions held',
  why: "a statement waits in PostgreSQL's lock manager for a lock another transaction holds",
  held: true,
  next: 'keep the holding transactions short',
};
const SYNC_STANDBY: DatabaseWait = {
  id: 'sync-standby',
  what: 'its synchronous standby to confirm its commits',
  why: 'with synchronous_standby_names set, each commit waits until a standby has its WAL (synchronous_commit decides how far): a slow or lagging standby, or the path to it, holds every commit',
  held: false,
  next: 'look at the standby (pg_stat_replication: write_lag, flush_lag, replay_lag) and the path to it',
};

/** PostgreSQL's lock manager sleeping (WaitOnLock, a static function, calls it). */
const LOCK_SLEEP = /^ProcSleep$/;
const KINDS: [RegExp, DatabaseWait][] = [
  [/^(XactLockTableWait|LockTuple|heap_lock_tuple|heap_update|heap_delete)$/, ROW_LOCK],
  [/^pg_advisory_\w*lock\w*$/, ADVISORY_LOCK],
  [/^(LockRelation\w*|LockDatabaseObject|LockSharedObject)$/, TABLE_LOCK],
];

/** What a wait in a database's own event loop waited for, by its user frames; undefined for an idle one. */
export function databaseWaitOf(frames: FrameLike[]): DatabaseWait | undefined {
  const names = frames.filter((f) => f.kind !== 'kernel').map((f) => f.name);
  if (names.some((n) => n === 'SyncRepWaitForLSN')) return SYNC_STANDBY;
  if (!names.some((n) => LOCK_SLEEP.test(n))) return undefined;
  return KINDS.find(([re]) => names.some((n) => re.test(n)))?.[1] ?? OTHER_LOCK;
}

/** Summed over the program's processes, this share of the window or more is a finding. */
const MIN_WINDOW_SHARE = 0.05;
/** A statement that locks a whole table strongly (DDL and its kin): whoever queues behind it waits on a table lock. */
const TABLE_STATEMENT = /^(ALTER|DROP|TRUNCATE|REINDEX|VACUUM|CLUSTER|LOCK|CREATE INDEX|REFRESH MATERIALIZED VIEW)\b/;

interface WaitGroup {
  comm: string;
  kind: DatabaseWait;
  us: number;
  waits: number;
  /** Each process's time waiting, µs. */
  pids: Map<number, number>;
  stacks: Obj[];
  /** Backends their titles showed waiting at the last read, when the window ended, with the statement that waited. */
  stillWaiting: { pid: number; statement: string }[];
}

/**
 * One finding per program and kind of wait, its processes together (a backend per connection). Waits the kernel
 * saw end come with their stacks; a wait still going on (an ALTER TABLE stuck behind a transaction, everything
 * queued behind it) is known by the titles (seen waiting in so many reads 250 ms apart), its kind by its stacks when
 * it waited before, else by its statement.
 */
export function databaseWaitFindings(waits: { stack: Obj; kind: DatabaseWait }[], data: Obj, ctx: AnalysisContext): Finding[] {
  const groups = new Map<string, WaitGroup>();
  const groupOf = (pid: number, comm: string, kind: DatabaseWait) => {
    const id = `${comm}\0${kind.id}`;
    const g = groups.get(id) ?? { comm, kind, us: 0, waits: 0, pids: new Map<number, number>(), stacks: [], stillWaiting: [] };
    groups.set(id, g);
    if (!g.pids.has(pid)) g.pids.set(pid, 0);
    return g;
  };
  for (const { stack: s, kind } of waits) {
    const pid = num(s.pid);
    const g = groupOf(pid, processNameOf(data, pid) ?? str(s.comm), kind);
    g.us += num(s.value);
    g.waits += Math.max(1, num(s.blocks));
    g.pids.set(pid, g.pids.get(pid)! + num(s.value));
    g.stacks.push(s);
  }
  const seen = isObj(data.postgresBackends) ? data.postgresBackends : {};
  const reads = num(seen.reads);
  const backends = objs(seen.backends) as unknown as BackendSeen[];
  const waiting = backends.filter((b) => b.waiting > 0);
  // With a strong table lock asked for and waiting, the others waiting with no stack to say are queued behind it.
  const titleKind = waiting.some((b) => TABLE_STATEMENT.test(str(b.statement))) ? TABLE_LOCK : OTHER_LOCK;
  // A backend's time waiting by its titles, where more than its stacks say (a wait still going on at the end).
  const addTitled = (b: BackendSeen, seenIn: number, kind: DatabaseWait) => {
    const titledUs = seenIn * num(seen.intervalMs) * 1000;
    const g =
      [...groups.values()].find((g) => g.kind.held === kind.held && g.pids.has(b.pid)) ?? groupOf(b.pid, processNameOf(data, b.pid) ?? 'postgres', kind);
    const countedUs = g.pids.get(b.pid)!;
    if (titledUs > countedUs) {
      g.us += titledUs - countedUs;
      g.pids.set(b.pid, titledUs);
      if (!countedUs) g.waits++;
    }
    if (b.waitingAtEnd) g.stillWaiting.push({ pid: b.pid, statement: str(b.statement) });
  };
  for (const b of waiting) addTitled(b, b.waiting, titleKind);
  for (const b of backends) if (b.syncWaiting) addTitled(b, b.syncWaiting, SYNC_STANDBY);
  const standbys = objs(seen.standbys) as unknown as Standby[];
  const holders = backends.filter((b) => isHolder(b, reads));
  return [...groups.values()]
    .filter((g) => g.us / 1e6 / ctx.windowSeconds >= MIN_WINDOW_SHARE)
    .sort((a, b) => b.us - a.us)
    .map((g) => waitFinding(g, g.kind.held ? holders : [], reads, g.kind === SYNC_STANDBY ? standbys : [], ctx));
}

function waitFinding(g: WaitGroup, candidates: BackendSeen[], reads: number, standbys: Standby[], ctx: AnalysisContext): Finding {
  const pids = [...g.pids].sort((a, b) => b[1] - a[1]).map(([pid]) => pid);
  const who = pids.length === 1 ? processLabel(g.comm, pids[0]) : `${g.comm} (${pids.length} processes: pids ${listText(pids.map(String), 4)})`;
  const share = g.us / 1e6 / ctx.windowSeconds;
  const holders = candidates.filter((t) => !g.pids.has(t.pid));
  const idle = holders.filter((t) => t.idleInTransaction > 0);
  // A strong lock asked for and waiting (a migration's ALTER TABLE) holds every later query of its table behind it.
  const queueHead = g.stillWaiting.find((w) => TABLE_STATEMENT.test(w.statement));
  const title =
    `${who} waited ${fmtMs(g.us / 1000)} (${fmtPct(share)} of the ${fmtSeconds(ctx.windowSeconds)} window, summed${pids.length > 1 ? ' over them' : ''}) ` +
    `for ${g.kind.what}, ${g.waits === 1 ? `one wait of ~${fmtMs(g.us / 1000)}` : `${plural(g.waits, 'wait')} of ~${fmtMs(g.us / g.waits / 1000)} each`}` +
    (g.stillWaiting.length ? ` (${g.stillWaiting.length} still waiting at the end: ${statementsText(g.stillWaiting)})` : '') +
    `: ${g.kind.why}` +
    (queueHead ? `; first in that queue: its ${queueHead.statement} (pid ${queueHead.pid})` : '') +
    (g.kind.held ? `; ${holderText(holders, reads)}` : '') +
    (g.kind === SYNC_STANDBY ? `; ${standbyText(standbys)}` : '') +
    `; next: ${
      queueHead
        ? `cancel the ${queueHead.statement} (SELECT pg_cancel_backend(${queueHead.pid})) and run it again with a short lock_timeout (retrying), so it never queues the table's queries behind it`
        : `${idle.length ? 'commit before the slow work (keep the transaction to its statements), or ' : ''}${g.kind.next}`
    }${g.kind.held ? `; ${BLOCKING_QUERY}` : ''}.`;
  // What holds the locks or the standby up is where the time goes: the holders' clients, the standbys' processes here.
  const clients = holders.flatMap((t) => (t.clientProcess ? [t.clientProcess.pid] : []));
  const receivers = standbys.flatMap((t) => (t.receiver ? [t.receiver.pid] : []));
  return {
    ...makeFinding(
      ctx,
      `db-wait:${g.comm}:${g.kind.id}`,
      'warning',
      title,
      {
        comm: g.comm,
        pid: pids[0],
        pids,
        waitingFor: g.kind.id,
        waitedMs: round(g.us / 1000),
        waits: g.waits,
        avgMs: round(g.us / g.waits / 1000),
        ...(g.stillWaiting.length ? { stillWaiting: g.stillWaiting.slice(0, 10) } : {}),
        ...(holders.length ? { holders: holders.slice(0, 3) } : {}),
        ...(standbys.length ? { standbys: standbys.slice(0, 3) } : {}),
        ...(reads ? { titleReads: reads } : {}),
        stacks: [...g.stacks]
          .sort((a, b) => num(b.value) - num(a.value))
          .slice(0, 3)
          .map((s) => ({ pid: num(s.pid), offCpuMs: round(num(s.value) / 1000), blocks: num(s.blocks), frames: stackText(framesOf(s), 16) })),
      },
      share,
      timeImpact(g.us / 1e6, ctx.windowSeconds, `${plural(g.waits, 'wait')} summed over its processes: ${fmtMs(g.us / 1000)}`, ['latency']),
    ),
    cause: { key: `${g.comm} waited for ${g.kind.what}`, subject: processLabel(g.comm, pids[0]) },
    // Its backends' slow answers are these waits (tcpresponse), and through them their clients' waits on them.
    // What holds up the holders (a commit waiting for its standby), their clients (their own upstreams, their CPU)
    // or the standby here (stopped, blocked) explains them.
    links: {
      explains: pids.map((pid) => `blocked-pid:${pid}`),
      ...(holders.length || receivers.length
        ? {
            shows: [
              ...holders.map((t) => `blocked-pid:${t.pid}`),
              ...clients.flatMap((pid) => [`service-pid:${pid}`, `blocked-pid:${pid}`]),
              ...receivers.flatMap((pid) => [`blocked-pid:${pid}`, `runq-pid:${pid}`]),
            ],
          }
        : {}),
    },
  };
}

/** The standbys the commits waited for: each walsender's standby, and what its process here was doing. */
function standbyText(standbys: Standby[]): string {
  if (!standbys.length) return 'no walsender was seen (its standby is not connected: every commit waits until one is)';
  const named = standbys
    .slice(0, 2)
    .map(
      (t) =>
        `walsender (pid ${t.pid}) ${t.activity} to ${t.client}` +
        (t.receiver ? ` (${processLabel(t.receiver.comm, t.receiver.pid)} there, ${doing(t.receiver)} at the end)` : ''),
    );
  return `its standbys: ${listText(named, 2)}`;
}

/** "UPDATE ×3 and ALTER TABLE": the statements waiting, the most common first. */
function statementsText(waiting: { statement: string }[]): string {
  const counts = new Map<string, number>();
  for (const w of waiting) counts.set(w.statement || '?', (counts.get(w.statement || '?') ?? 0) + 1);
  return listText(
    [...counts].sort((a, b) => b[1] - a[1]).map(([statement, n]) => (n > 1 ? `${statement} ×${n}` : statement)),
    4,
  );
}

/** Who held the locks: the backends seen idle in their transactions, else those running a statement all along; and their clients. */
function holderText(holders: BackendSeen[], reads: number): string {
  const idle = holders.filter((t) => t.idleInTransaction > 0);
  const clientOf = (t: BackendSeen) =>
    `its client: ${t.clientProcess ? `${processLabel(t.clientProcess.comm, t.clientProcess.pid)} at ${t.client}` : t.client}`;
  if (idle.length) {
    const named = idle
      .slice(0, 2)
      .map(
        (t) =>
          `postgres (pid ${t.pid}, ${t.user}@${t.database}) was idle in its transaction${t.aborted ? ' (aborted)' : ''} in ${fmtCount(t.idleInTransaction)} of ${plural(reads, 'read')} of its title (${clientOf(t)})`,
      );
    return (
      `held by: ${listText(named, 2)}: a transaction its client keeps open while it does something else (a call to another service, a sleep, a user's think time) holds every lock it took until it commits` +
      (idle.length > 2 ? ` (${idle.length - 2} more idle in theirs)` : '')
    );
  }
  if (!reads) return 'the backends could not be read for their holder';
  const committing = holders.filter((t) => t.syncWaiting);
  if (committing.length)
    return `held by: ${listText(
      committing.slice(0, 2).map((t) => `postgres (pid ${t.pid}, ${t.user}@${t.database}), its ${t.statement ?? 'commit'} waiting for its synchronous standby`),
      2,
    )}: a transaction holds its locks until its commit is confirmed`;
  const running = holders
    .filter((t) => t.running >= reads / 2)
    .sort((a, b) => b.running - a.running)
    .slice(0, 2);
  if (!running.length)
    return `no backend was seen idle in a transaction (${plural(reads, 'read')} of their titles): the holder runs statements of its own, each shorter than a read apart`;
  const named = running.map(
    (t) =>
      `postgres (pid ${t.pid}, ${t.user}@${t.database}) running ${t.runningStatement ?? 'a statement'} in ${fmtCount(t.running)} of ${plural(reads, 'read')} of its title (${clientOf(t)})`,
  );
  return `no backend was seen idle in a transaction; running a statement all along, the likely holder (a long UPDATE, a batch, a migration holds what it locked until its transaction ends): ${listText(named, 2)}`;
}
