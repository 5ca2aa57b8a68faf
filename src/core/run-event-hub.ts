// Every SSE client of one API process shares one blocking Redis reader: the
// hub follows the streams of the runs someone watches with one XREAD over all
// of them and hands each entry to that run's listeners. A new run to follow
// wakes the blocked read through a wake stream of this process's own (which
// the read includes; no admin command needed under an ACL), so 1,000 clients
// cost one connection, not 1,000.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { keys } from '../redis/keys.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'run-events' });

/** How long one blocking read waits before it looks at the followed set again. */
const BLOCK_MS = 5000;
const COUNT = 200;

export interface StreamEntry {
  id: string;
  fields: string[];
}

type Listener = (entry: StreamEntry) => void;

interface Followed {
  /** The last id the hub read of this run's stream. */
  last: string;
  listeners: Set<Listener>;
}

export class RunEventHub {
  private readonly followed = new Map<string, Followed>();
  private reader: RedisClient | undefined;
  private readonly wakeKey = keys.eventsWake(randomUUID());
  private wakeLast = '0';
  private loop: Promise<void> | undefined;
  private blocked = false;
  private closed = false;

  /** `openReader` makes the one blocking connection; `control` is a connection that never blocks. */
  constructor(
    private readonly openReader: () => RedisClient,
    private readonly control: RedisClient,
  ) {}

  /** Calls `listener` with each entry of the run's stream after `after`, until the returned function is called. */
  subscribe(runId: string, after: string, listener: Listener): () => void {
    let run = this.followed.get(runId);
    if (!run) {
      this.followed.set(runId, (run = { last: after, listeners: new Set() }));
      this.wake();
    } // else: an older `after` than the hub's is caught up by the subscriber itself (XRANGE)
    run.listeners.add(listener);
    this.start();
    return () => {
      run.listeners.delete(listener);
      if (!run.listeners.size && this.followed.get(runId) === run) this.followed.delete(runId);
    };
  }

  /** Connections the hub holds: 0 or 1. */
  get connections(): number {
    return this.reader ? 1 : 0;
  }

  close(): void {
    this.closed = true;
    void this.control.del(this.wakeKey).catch(() => {});
    this.reader?.disconnect();
    this.reader = undefined;
  }

  private start(): void {
    if (this.loop || this.closed) return;
    this.loop = this.read().finally(() => (this.loop = undefined));
  }

  private async read(): Promise<void> {
    while (this.followed.size && !this.closed) {
      this.reader ??= this.openReader();
      const runs = [...this.followed.keys()];
      const streams = [this.wakeKey, ...runs.map((id) => keys.runEvents(id))];
      const lasts = [this.wakeLast, ...runs.map((id) => this.followed.get(id)!.last)];
      let reply: [string, [string, string[]][]][] | null;
      try {
        this.blocked = true;
        reply = (await this.reader.xread('COUNT', COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', ...streams, ...lasts)) as typeof reply;
      } catch (err) {
        if (this.closed) return;
        log.warn('reading run events failed; retrying', { error: (err as Error).message });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      } finally {
        this.blocked = false;
      }
      for (const [stream, entries] of reply ?? []) {
        if (stream === this.wakeKey) {
          this.wakeLast = entries.at(-1)?.[0] ?? this.wakeLast;
          continue;
        }
        const run = this.followed.get(runs[streams.indexOf(stream) - 1]!);
        if (!run) continue;
        for (const [id, fields] of entries) {
          run.last = id;
          for (const listener of run.listeners) listener({ id, fields });
        }
      }
    }
  }

  /** Ends the blocked read so the next one includes a newly followed run. */
  private wake(): void {
    if (!this.blocked) return; // the next read includes it anyway
    void this.control
      .multi()
      .xadd(this.wakeKey, 'MAXLEN', '1', '*', 'wake', '1')
      .expire(this.wakeKey, 3600)
      .exec()
      .catch(() => {});
  }
}

/** Orders stream ids ("ms-seq"); '0' and '' come first. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = (a || '0').split('-').map(Number);
  const [bm = 0, bs = 0] = (b || '0').split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
