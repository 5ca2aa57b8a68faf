// A node's capture results → its syscall events for the rules: each capture
// with a source maps its own result. Where a complete source (every event of
// its kind) and a summary overlap, an event the summary has for a process and
// destination (or file) the complete one also has is kept once, the complete one's.
import type { SyscallEvent } from '../model/syscall-event.js';
import { EVENT_SOURCES } from './sources/index.js';

export interface NodeEvents {
  events: SyscallEvent[];
  /** Captures that fed events. */
  captures: string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function nodeEvents(results: readonly unknown[]): NodeEvents {
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
  const seen = new Set(full.map(eventKey));
  const seenObject = new Set(full.map(objectKey));
  // A summary's event without a process (pid 0) gives way to any complete one on the same object.
  const rest = partial.flat().filter((e) => !seen.has(eventKey(e)) && !(e.pid === 0 && seenObject.has(objectKey(e))));
  return { events: [...full, ...rest], captures };
}

function objectKey(e: SyscallEvent): string {
  const fd = e.fd;
  if (!fd) return `${e.type}|`;
  return fd.kind === 'socket' ? `${e.type}|${fd.remote.ip}|${fd.remote.port}` : `${e.type}|${fd.path}`;
}

const eventKey = (e: SyscallEvent) => `${e.pid}|${objectKey(e)}`;
