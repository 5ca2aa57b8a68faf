// Which captures feed the rules, and the event types each makes. A new event
// source (signals, syscall errors) is one mapper file and one line here.
import type { EventSource } from '../events.js';
import { execsnoopEvents } from './execsnoop.js';
import { opensnoopEvents } from './opensnoop.js';
import { tcpconnlatEvents } from './tcpconnlat.js';
import { tcplifeEvents } from './tcplife.js';

export interface SourceDef {
  events: EventSource;
  /** evt.type values it produces. */
  types: string[];
}

export const EVENT_SOURCES: Record<string, SourceDef> = {
  execsnoop: { events: execsnoopEvents, types: ['execve'] },
  opensnoop: { events: opensnoopEvents, types: ['open', 'openat', 'openat2'] },
  tcplife: { events: tcplifeEvents, types: ['connect', 'accept'] },
  tcpconnlat: { events: tcpconnlatEvents, types: ['connect'] },
};

/** Every event type some source produces: what rules are compiled against. */
export const PRODUCED_TYPES: ReadonlySet<string> = new Set(Object.values(EVENT_SOURCES).flatMap((s) => s.types));

/** The captures whose events a rule of these event types needs ("open" → opensnoop). */
export function capturesFor(types: Iterable<string> | undefined): string[] {
  const wanted = types ? new Set(types) : undefined;
  return Object.entries(EVENT_SOURCES).filter(([, s]) => !wanted || s.types.some((t) => wanted.has(t))).map(([name]) => name);
}
