// Which captures feed the rules, and the event types each makes: every
// capture whose definition has syscallEvents (src/captures/<name>/). A new
// event source (signals, syscall errors) is a mapper in its capture's folder
// and one field in its definition; nothing here changes.
import { captures } from '../../captures/registry.js';
import type { SyscallEventSource } from '../../model/syscall-event.js';

export const EVENT_SOURCES: Readonly<Record<string, SyscallEventSource>> = Object.fromEntries(
  [...captures.values()].flatMap((d) => (d.syscallEvents ? [[d.name, d.syscallEvents] as const] : [])),
);

/** Every event type some source produces: what rules are compiled against. */
export const PRODUCED_TYPES: ReadonlySet<string> = new Set(Object.values(EVENT_SOURCES).flatMap((s) => s.types));

/** Types no source but a failures-only one makes (CompileEnv.failureOnlyTypes). */
export const FAILURE_ONLY_TYPES: ReadonlySet<string> = new Set(
  [...PRODUCED_TYPES].filter((t) => Object.values(EVENT_SOURCES).every((s) => s.failuresOnly || !s.types.includes(t))),
);

/** The captures whose events a rule of these event types needs ("open" → opensnoop). */
export function capturesFor(types: Iterable<string> | undefined): string[] {
  const wanted = types ? new Set(types) : undefined;
  return Object.entries(EVENT_SOURCES)
    .filter(([, s]) => !wanted || s.types.some((t) => wanted.has(t)))
    .map(([name]) => name);
}
