// Who holds the rows PostgreSQL's backends wait for. A backend's process title
// says what it does ("postgres: app shop 10.0.0.7(53776) idle in transaction"):
// one idle in a transaction holds every lock it took until its client commits,
// and a client that calls something slow between its statements keeps them for
// as long. The titles are read every 250 ms while the capture runs (a lock held
// 0.8 s of every second is caught in the act; at the end alone, maybe not).
import { procTcpSockets } from '../proc-net-tcp.js';
import { socketOwners } from '../target-processes.js';
import { listDir, readText } from '../../util/read-text.js';
import { processNow, type ProcessNow } from './process-now.js';

/** A backend seen in a transaction between its statements, and its client. */
export interface IdleTransaction {
  pid: number;
  user: string;
  database: string;
  /** "127.0.0.1:53776", or "[local]" (a unix socket). */
  client: string;
  /** Reads of the titles it was seen idle in a transaction in ("idle in transaction", or "(aborted)"). */
  seen: number;
  aborted: boolean;
  /** The client's process, when it runs on this host. */
  clientProcess?: ProcessNow;
}

export interface OpenTransactions {
  /** Reads of the titles made while the capture ran. */
  reads: number;
  /** Most seen first. */
  idle: IdleTransaction[];
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

export class OpenTransactionSampler {
  private postmasters: number[] | undefined;
  private readonly seen = new Map<number, { title: BackendTitle; times: number; aborted: boolean }>();
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
    for (const postmaster of this.postmasters) {
      for (const child of (readText(`/proc/${postmaster}/task/${postmaster}/children`) ?? '').split(' ').filter(Boolean)) {
        const title = parseTitle(readText(`/proc/${child}/cmdline`) ?? '');
        if (!title?.activity.startsWith('idle in transaction')) continue;
        const pid = Number(child);
        const entry = this.seen.get(pid);
        if (entry) entry.times++;
        else if (this.seen.size < MAX_BACKENDS) this.seen.set(pid, { title, times: 1, aborted: title.activity.includes('aborted') });
      }
    }
  }

  /** The backends seen idle in a transaction, most often first, with their clients on this host (read now). */
  result(): OpenTransactions | undefined {
    if (!this.reads) return undefined;
    const idle = [...this.seen]
      .sort((a, b) => b[1].times - a[1].times)
      .slice(0, 10)
      .map(([pid, { title, times, aborted }]): IdleTransaction => {
        const client = clientOf(pid, title.client);
        return { pid, user: title.user, database: title.database, client: title.client, seen: times, aborted, ...(client ? { clientProcess: client } : {}) };
      });
    return { reads: this.reads, idle };
  }
}

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
