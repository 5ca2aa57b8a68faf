// A node's capture results → its syscall events for the rules: each capture
// with a source maps its own result. Where a complete source (every event of
// its kind) and a summary overlap, an event the summary has for a process and
// destination (or file) the complete one also has is kept once, the complete
// one's. Events a complete source streamed earlier (node-session.ts) count as
// seen through `Seen`. A complete source's events are read as they go through
// (twice: once for their keys, once to match), never held as one array: a
// spooled result streams from disk.
import { byEventTime, type SyscallEvent, type SyscallEventInput } from '../model/syscall-event.js';
import { spooledEventsOf } from '../captures/event-spool.js';
import { EVENT_SOURCES } from './sources/index.js';

export interface NodeEvents {
  /** In time order: each complete source's own order and the sorted summaries, merged. */
  events: Iterable<SyscallEvent>;
  /** Captures that fed events. */
  captures: string[];
}

/** Keys of complete sources' events, so a summary's copy of one is dropped; bounded (past it, duplicates may pass). */
export class Seen {
  static readonly MAX_KEYS = 200_000;
  private readonly events = new Set<string>();
  private readonly objects = new Set<string>();

  get full(): boolean {
    return this.events.size >= Seen.MAX_KEYS;
  }

  add(e: SyscallEvent): void {
    if (this.full) return;
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
  const complete: Iterable<SyscallEvent>[] = [];
  const partial: SyscallEvent[] = [];
  const captures: string[] = [];
  for (const result of results) {
    if (!isObj(result) || typeof result.capture !== 'string') continue;
    const source = EVENT_SOURCES[result.capture];
    if (!source) continue;
    const capture = result.capture;
    // Re-readable: each pass maps the result anew.
    const events = { [Symbol.iterator]: () => withCapture(source.events(result), capture) };
    // A spool is read in its own order (drain order, time order near enough); what is in memory is sorted.
    if (source.complete) complete.push(spooledEventsOf(result) ? events : [...events].sort(byEventTime));
    else for (const e of events) partial.push(e);
    captures.push(capture);
  }
  if (partial.length)
    for (const events of complete) {
      for (const e of events) {
        if (seen.full) break;
        seen.add(e);
      }
    }
  const rest = partial.filter((e) => !seen.covers(e)).sort(byEventTime);
  return { events: mergeByTime([...complete, rest]), captures };
}

function* withCapture(events: Iterable<SyscallEventInput>, capture: string): Generator<SyscallEvent> {
  for (const e of events) yield { ...e, capture };
}

/** Streams each in time order → one stream in time order: the earliest head goes first. */
function* mergeByTime(streams: Iterable<SyscallEvent>[]): Generator<SyscallEvent> {
  const heads = streams.map((s) => s[Symbol.iterator]()).map((it) => ({ it, next: it.next() }));
  for (;;) {
    let first: (typeof heads)[number] | undefined;
    for (const h of heads) if (!h.next.done && (!first || byEventTime(h.next.value, first.next.value as SyscallEvent) < 0)) first = h;
    if (!first) return;
    yield first.next.value as SyscallEvent;
    first.next = first.it.next();
  }
}

function objectKey(e: SyscallEvent): string {
  const fd = e.fd;
  if (!fd) return `${e.type}|`;
  return fd.kind === 'socket' ? `${e.type}|${fd.remote.ip}|${fd.remote.port}` : `${e.type}|${fd.path}`;
}

const eventKey = (e: SyscallEvent) => `${e.pid}|${objectKey(e)}`;
