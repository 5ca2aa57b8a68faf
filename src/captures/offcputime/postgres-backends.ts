// What PostgreSQL's backends do, by their process titles ("postgres: app shop
// 10.0.0.7(53776) idle in transaction", "... UPDATE waiting"), read every 250 ms
// while the capture runs. One idle in a transaction holds every lock it took
// until its client commits (a client that calls something slow between its
// statements keeps them that long); one "waiting" waits for a lock now (the
// lock manager adds it), however long ago its wait began, where the kernel
// counts a wait only when it ends; one "waiting for 0/40012D8" waits for its
// synchronous standby to confirm its commit (and a walsender's title names
// that standby); one running a statement read after read (a long UPDATE, a
// batch) holds what that statement locked.
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../target-processes.js';
import { listDir, readText } from '../../util/read-text.js';
import { processNow, type ProcessNow } from './process-now.js';

/** A backend seen idle in a transaction, waiting for a lock or running a statement, and its client. */
export interface BackendSeen {
  pid: number;
  user: string;
  database: string;
  /** "127.0.0.1:53776", or "[local]" (a unix socket). */
  client: string;
  /** Reads of the titles it was seen idle in a transaction in ("idle in transaction", or "(aborted)"). */
  idleInTransaction: number;
  aborted?: boolean;
  /** Reads it was seen waiting for a lock in, and the statement that waited ("ALTER TABLE", "UPDATE"). */
  waiting: number;
  statement?: string;
  /** Reads it was seen waiting for its synchronous standby in (a commit's WAL not yet confirmed). */
  syncWaiting?: number;
  /** Waiting (for a lock or its standby) at the last read, when the window ended. */
  waitingAtEnd?: boolean;
  /** Reads it was seen running a statement in (neither idle nor waiting), and the last one. */
  running: number;
  runningStatement?: string;
  /** The client's process, when it runs on this host (read at the end). */
  clientProcess?: ProcessNow;
}

/** A walsender: the server's end of a standby's replication connection, and the standby's process when it runs on this host. */
export interface Standby {
  pid: number;
  /** The standby's address ("127.0.0.1:60190"). */
  client: string;
  /** "streaming 0/40012D8". */
  activity: string;
  receiver?: ProcessNow;
}

export interface PostgresBackends {
  /** Reads of the titles made while the capture ran, SAMPLE_MS apart. */
  reads: number;
  intervalMs: number;
  /** Those seen idle in a transaction, waiting or running, most seen first. */
  backends: BackendSeen[];
  /** The walsenders seen, when a backend waited for its synchronous standby. */
  standbys?: Standby[];
}

/** "postgres: [cluster: ]user database host(port) activity" (update_process_title, on by default); a walsender's "walsender user host(port) activity". */
const TITLE = /^postgres: (?:\S+: )?(\S+) (\S+) (\S+) (.*)$/;
/** A client as a title names it: "10.0.0.7(53776)", "db-client.internal(40022)", "[local]". Helpers (checkpointer, "logical replication launcher") have none. */
const CLIENT = /^(?:(.+)\((\d+)\)|\[local\])$/;

export interface BackendTitle {
  user: string;
  database: string;
  client: string;
  activity: string;
}

export function parseTitle(cmdline: string): BackendTitle | undefined {
  const text = cmdline.replace(/[\0\s]+$/, '');
  // With a cluster_name its title begins "postgres: main: "; a helper's words are no user and database.
  for (const m of [TITLE.exec(text), /^postgres: (\S+) (\S+) (\S+) (.*)$/.exec(text)]) {
    const host = m && CLIENT.exec(m[3]!);
    if (!m || !host || m[1]!.endsWith(':')) continue;
    const client = !host[1] ? m[3]! : host[1].includes(':') ? `[${host[1]}]:${host[2]}` : `${host[1]}:${host[2]}`;
    return { user: m[1]!, database: m[2]!, client, activity: m[4]! };
  }
  return undefined;
}

const SAMPLE_MS = 250;
/** "COMMIT waiting for 0/40012D8": a commit's WAL not yet confirmed by its synchronous standby. */
const SYNC_WAIT = /^(.*) waiting for [0-9A-F]+\/[0-9A-F]+$/;
const MAX_BACKENDS = 4096;
/** Backends kept in the result, most seen first. */
const MAX_KEPT = 32;

export class PostgresBackendSampler {
  private postmasters: number[] | undefined;
  private readonly seen = new Map<number, BackendSeen>();
  /** The read each backend was last seen waiting in. */
  private readonly lastWaiting = new Map<number, number>();
  private readonly walsenders = new Map<number, BackendTitle>();
  private reads = 0;
  private last = 0;

  /** Reads the backends' titles unless they were read less than 250 ms ago (or `force`). */
  poll(force = false): void {
    const now = Date.now();
    if (!force && now - this.last < SAMPLE_MS) return;
    this.last = now;
    // The servers, found once: their backends are their children (forked per connection).
    this.postmasters ??= findPostmasters();
    if (!this.postmasters.length) return;
    this.reads++;
    for (const postmaster of this.postmasters)
      for (const child of (readText(`/proc/${postmaster}/task/${postmaster}/children`) ?? '').split(' ').filter(Boolean)) this.note(Number(child));
  }

  private note(pid: number): void {
    const title = parseTitle(readText(`/proc/${pid}/cmdline`) ?? '');
    if (!title || title.activity === 'idle') return;
    // "walsender user host(port) activity": one field fewer than a backend's.
    if (title.user === 'walsender') {
      if (this.walsenders.size < MAX_KEPT) this.walsenders.set(pid, title);
      return;
    }
    const idle = title.activity.startsWith('idle in transaction');
    const waiting = title.activity.endsWith(' waiting');
    const syncWaiting = SYNC_WAIT.exec(title.activity);
    let entry = this.seen.get(pid);
    if (!entry) {
      if (this.seen.size >= MAX_BACKENDS) return;
      this.seen.set(pid, (entry = { pid, user: title.user, database: title.database, client: title.client, idleInTransaction: 0, waiting: 0, running: 0 }));
    }
    if (idle) {
      entry.idleInTransaction++;
      if (title.activity.includes('aborted')) entry.aborted = true;
    } else if (waiting) {
      entry.waiting++;
      this.lastWaiting.set(pid, this.reads);
      entry.statement = title.activity.slice(0, -' waiting'.length);
    } else if (syncWaiting) {
      entry.syncWaiting = (entry.syncWaiting ?? 0) + 1;
      this.lastWaiting.set(pid, this.reads);
      entry.statement = syncWaiting[1];
    } else {
      entry.running++;
      entry.runningStatement = title.activity;
    }
  }

  /**
   * What was seen, when a backend waited for a lock or its standby (seen here, or by its stacks: `waited`), with the
   * clients on this host of those that may hold the locks and the standbys' processes (read now).
   */
  result(waited: boolean): PostgresBackends | undefined {
    const seen = [...this.seen.values()].sort((a, b) => seenIn(b) - seenIn(a)).slice(0, MAX_KEPT);
    if (!this.reads || !(waited || seen.some((b) => b.waiting || b.syncWaiting))) return undefined;
    const holders = seen.filter((b) => isHolder(b, this.reads));
    const clients = clientsOf([...holders, ...[...this.walsenders].map(([pid, t]) => ({ pid, client: t.client }))]);
    const backends = seen.map((b) => {
      const client = holders.includes(b) ? clients.get(b.pid) : undefined;
      return { ...b, ...(this.lastWaiting.get(b.pid) === this.reads ? { waitingAtEnd: true } : {}), ...(client ? { clientProcess: client } : {}) };
    });
    const standbys = [...this.walsenders].map(([pid, t]): Standby => {
      const receiver = clients.get(pid);
      return { pid, client: t.client, activity: t.activity, ...(receiver ? { receiver } : {}) };
    });
    return { reads: this.reads, intervalMs: SAMPLE_MS, backends, ...(standbys.length ? { standbys } : {}) };
  }
}

const seenIn = (b: BackendSeen) => b.idleInTransaction + b.waiting + (b.syncWaiting ?? 0) + b.running;

/**
 * Not waiting for a lock itself, and idle in a transaction at some read, committing and waiting for its standby, or
 * running statements at half the reads or more: it may hold locks others wait for.
 */
export const isHolder = (b: BackendSeen, reads: number): boolean => !b.waiting && (b.idleInTransaction > 0 || Boolean(b.syncWaiting) || b.running >= reads / 2);

/** PostgreSQL's servers: processes named postgres whose titles are not a backend's or a helper's ("postgres: ..."). */
function findPostmasters(): number[] {
  return listDir('/proc')
    .filter((d) => /^\d+$/.test(d) && readText(`/proc/${d}/comm`)?.trim() === 'postgres')
    .filter((d) => !(readText(`/proc/${d}/cmdline`) ?? 'postgres: ').startsWith('postgres: '))
    .map(Number);
}

/** Each backend's client process on this host: the owner of its peer socket, seen from its network namespace (one walk of /proc for all). */
function clientsOf(backends: { pid: number; client: string }[]): Map<number, ProcessNow> {
  const inodes = new Map<number, bigint>();
  for (const b of backends) {
    if (b.client === '[local]') continue;
    const socket = procTcpSockets(b.pid).find((s) => s.local === b.client && s.state === 'ESTABLISHED');
    if (socket) inodes.set(b.pid, BigInt(socket.inode));
  }
  const owners = socketOwners(new Set(inodes.values()));
  const clients = new Map<number, ProcessNow>();
  for (const [pid, inode] of inodes) {
    const owner = owners.get(inode);
    const now = owner && processNow(owner.pid);
    if (now) clients.set(pid, now);
  }
  return clients;
}
