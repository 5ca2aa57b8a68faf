// What PostgreSQL's backends do, by their process titles ("postgres: app shop
// 10.0.0.7(53776) idle in transaction", "... UPDATE waiting"), read every 250 ms
// while the capture runs. One idle in a transaction holds every lock it took
// until its client commits (a client that calls something slow between its
// statements keeps them that long); one "waiting" waits for a lock now (the
// lock manager adds it), however long ago its wait began, where the kernel
// counts a wait only when it ends; one running a statement read after read
// (a long UPDATE, a batch) holds what that statement locked.
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
  /** Reads it was seen running a statement in (neither idle nor waiting), and the last one. */
  running: number;
  runningStatement?: string;
  /** The client's process, when it runs on this host (read at the end). */
  clientProcess?: ProcessNow;
}

export interface PostgresBackends {
  /** Reads of the titles made while the capture ran, SAMPLE_MS apart. */
  reads: number;
  intervalMs: number;
  /** Those seen idle in a transaction, waiting or running, most seen first. */
  backends: BackendSeen[];
}

/** "postgres: [cluster: ]user database host(port) activity" (update_process_title, on by default). */
const TITLE = /^postgres: (?:[^:]+: )?(\S+) (\S+) (\S+) (.*)$/;

export interface BackendTitle {
  user: string;
  database: string;
  client: string;
  activity: string;
}

export function parseTitle(cmdline: string): BackendTitle | undefined {
  const m = TITLE.exec(cmdline.replace(/[\0\s]+$/, ''));
  if (!m) return undefined;
  const host = /^(.*)\((\d+)\)$/.exec(m[3]!);
  const client = !host ? m[3]! : host[1]!.includes(':') ? `[${host[1]}]:${host[2]}` : `${host[1]}:${host[2]}`;
  return { user: m[1]!, database: m[2]!, client, activity: m[4]! };
}

const SAMPLE_MS = 250;
const MAX_BACKENDS = 4096;
/** Backends kept in the result, most seen first. */
const MAX_KEPT = 32;

export class PostgresBackendSampler {
  private postmasters: number[] | undefined;
  private readonly seen = new Map<number, BackendSeen>();
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
    const idle = title?.activity.startsWith('idle in transaction');
    const waiting = title?.activity.endsWith(' waiting');
    if (!title || title.activity === 'idle') return;
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
      entry.statement = title.activity.slice(0, -' waiting'.length);
    } else {
      entry.running++;
      entry.runningStatement = title.activity;
    }
  }

  /** What was seen, when a backend waited for a lock (seen here, or `lockWaits` by its stacks), with the clients on this host of those idle in a transaction (read now). */
  result(lockWaits: boolean): PostgresBackends | undefined {
    if (!this.reads || !(lockWaits || [...this.seen.values()].some((b) => b.waiting))) return undefined;
    const backends = [...this.seen.values()]
      .sort((a, b) => b.idleInTransaction + b.waiting + b.running - (a.idleInTransaction + a.waiting + a.running))
      .slice(0, MAX_KEPT)
      .map((b) => {
        const client = isHolder(b, this.reads) ? clientOf(b.pid, b.client) : undefined;
        return client ? { ...b, clientProcess: client } : b;
      });
    return { reads: this.reads, intervalMs: SAMPLE_MS, backends };
  }
}

/** Idle in a transaction at some read, or running statements at half the reads or more (never waiting): it may hold locks others wait for. */
export const isHolder = (b: BackendSeen, reads: number): boolean => !b.waiting && (b.idleInTransaction > 0 || b.running >= reads / 2);

/** PostgreSQL's servers: processes named postgres whose titles are not a backend's or a helper's ("postgres: ..."). */
function findPostmasters(): number[] {
  return listDir('/proc')
    .filter((d) => /^\d+$/.test(d) && readText(`/proc/${d}/comm`)?.trim() === 'postgres')
    .filter((d) => !(readText(`/proc/${d}/cmdline`) ?? 'postgres: ').startsWith('postgres: '))
    .map(Number);
}

/** The process on this host whose socket is the backend's client end (the backend's peer, seen from its network namespace). */
function clientOf(backend: number, client: string): ProcessNow | undefined {
  if (client === '[local]') return undefined;
  const socket = procTcpSockets(backend).find((s) => s.local === client && s.state === 'ESTABLISHED');
  if (!socket) return undefined;
  const owner = socketOwners(new Set([BigInt(socket.inode)])).get(BigInt(socket.inode));
  return owner ? processNow(owner.pid) : undefined;
}
