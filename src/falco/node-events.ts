// A node's capture results → its syscall events for the rules: each capture
// with a source maps its own result. Where a complete source (every event of
// its kind) and a summary overlap, an event the summary has for a process and
// destination (or file) the complete one also has is kept once, the complete
// one's. Events a complete source streamed earlier (node-session.ts) count as
// seen through `Seen`.
import type { SyscallEvent } from '../model/syscall-event.js';
import { EVENT_SOURCES } from './sources/index.js';

export interface NodeEvents {
  events: SyscallEvent[];
  /** Captures that fed events. */
  captures: string[];
}

/** Keys of complete sources' events, so a summary's copy of one is dropped; bounded (past it, duplicates may pass). */
export class Seen {
  static readonly MAX_KEYS = 200_000;
  private readonly events = new Set<string>();
  private readonly objects = new Set<string>();

  add(e: SyscallEvent): void {
    if (this.events.size >= Seen.MAX_KEYS) return;
    this.events.add(eventKey(e));
    this.objects.add(objectKey(e));
  }

  /** A summary's event that a complete one already has; one without a process (pid 0) gives way to any on the same object. */
  covers(e: SyscallEvent): boolean {
    return this.events.has(eventKey(e)) || (e.pid === 0 && this.objects.has(objectKey(e)));
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function nodeEvents(results: readonly unknown[], seen = new Seen()): NodeEvents {
  const complete: SyscallEvent[][] = [];
  const partial: SyscallEvent[][] = [];
  const captures: string[] = [];
  for (const result of results) {
    if (!isObj(result) || typeof result.capture !== 'string') continue;
    const source = EVENT_SOURCES[result.capture];
    if (!source) continue;
    const capture = result.capture;
    const events = source.events(result).map((e): SyscallEvent => ({ ...e, capture }));
    (source.complete ? complete : partial).push(events);
    captures.push(capture);
  }
  const full = complete.flat();
  for (const e of full) seen.add(e);
  const rest = partial.flat().filter((e) => !seen.covers(e));
  return { events: [...full, ...rest], captures };
}

function objectKey(e: SyscallEvent): string {
  const fd = e.fd;
  if (!fd) return `${e.type}|`;
  return fd.kind === 'socket' ? `${e.type}|${fd.remote.ip}|${fd.remote.port}` : `${e.type}|${fd.path}`;
}

const eventKey = (e: SyscallEvent) => `${e.pid}|${objectKey(e)}`;
