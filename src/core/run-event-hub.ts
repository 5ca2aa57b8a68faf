// Every SSE client of one API process shares one blocking Redis reader: the
// hub follows the streams of the runs someone watches with one XREAD over all
// of them and hands each entry to that run's listeners. A new run to follow
// wakes the blocked read (CLIENT UNBLOCK on the process's ordinary connection),
// so 1,000 clients cost one connection, not 1,000.
import type { Redis } from 'ioredis';
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
  private reader: Redis | undefined;
  private readerId: number | undefined;
  private loop: Promise<void> | undefined;
  private blocked = false;
  private closed = false;

  /** `openReader` makes the one blocking connection; `control` is a connection that never blocks. */
  constructor(
    private readonly openReader: () => Redis,
    private readonly control: Redis,
  ) {}

  /** Calls `listener` with each entry of the run's stream after `after`, until the returned function is called. */
  subscribe(runId: string, after: string, listener: Listener): () => void {
    let run = this.followed.get(runId);
    if (!run) {
      this.followed.set(runId, (run = { last: after, listeners: new Set() }));
      this.wake();
    } else if (compareIds(after, run.last) < 0) {
      // Older than where the hub is: the subscriber catches up itself (XRANGE), the hub goes on.
    }
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
    this.reader?.disconnect();
    this.reader = undefined;
  }

  private start(): void {
    if (this.loop || this.closed) return;
    this.loop = this.read().finally(() => (this.loop = undefined));
  }

  private async read(): Promise<void> {
    while (this.followed.size && !this.closed) {
      if (!this.reader) {
        this.reader = this.openReader();
        this.readerId = Number(await this.reader.client('ID'));
      }
      const runs = [...this.followed.keys()];
      const streams = runs.map((id) => keys.runEvents(id));
      const lasts = runs.map((id) => this.followed.get(id)!.last);
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
        const run = this.followed.get(runs[streams.indexOf(stream)]!);
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
    if (this.blocked && this.readerId !== undefined) void this.control.client('UNBLOCK', this.readerId).catch(() => {});
  }
}

/** Orders stream ids ("ms-seq"); '0' and '' come first. */
export function compareIds(a: string, b: string): number {
  const [am = 0, as = 0] = (a || '0').split('-').map(Number);
  const [bm = 0, bs = 0] = (b || '0').split('-').map(Number);
  return am !== bm ? am - bm : as - bs;
}
