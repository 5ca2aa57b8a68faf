// Kernel log records to events: each record the known messages match, with
// its fields, the call trace printed after it, and the context printed just
// before an OOM kill (the cgroup whose limit ran out). Records written by
// processes (facility other than the kernel's) are never taken for the
// kernel's. Errors no entry knows are counted by their shape.
import { HUNG_TASK_OWNER, KNOWN_MESSAGES, OOM_CONTEXT, TRACE_FRAME, TRACE_LINE, type Fields } from './known-messages.js';
import type { CrashSite } from './crash-site.js';
import type { KmsgRecord } from './kmsg.js';

/** Frames kept of a call trace. */
const MAX_FRAMES = 24;
/** A trace line this long after its message still belongs to it (a stack is printed in one go). */
const TRACE_GAP_US = 1_000_000;
/** Err or worse (0-3): a message no entry knows is still worth counting. */
const UNKNOWN_LEVEL = 3;
const MAX_UNKNOWN = 20;
const MAX_TEXT = 400;
/** printk's rate limit at work: "show_signal_msg: 21 callbacks suppressed". */
const SUPPRESSED = /^(\w+): (\d+) callbacks suppressed$/;

export interface KernelEvent {
  kind: string;
  /** What it is about (a program, a disk, a server): events of one kind and subject are one finding. */
  subject: string;
  /** When the kernel logged it (ISO), and whether that was in the capture's window (else before it). */
  time: string;
  inWindow: boolean;
  /** Syslog level, 0 (emerg) to 7 (debug). */
  level: number;
  text: string;
  fields: Fields;
  /** The call trace printed after it (function names, innermost first; guessed "? " frames left out). */
  stack?: string[];
  /** A crash: the function it faulted in, when its file was found (crash-site.ts). */
  site?: CrashSite;
}

/** Kernel errors no entry knows, by their shape (numbers replaced), most frequent first. */
export interface UnknownMessage {
  text: string;
  level: number;
  count: number;
  lastTime: string;
  inWindow: boolean;
}

export interface Classified {
  events: KernelEvent[];
  unknown: UnknownMessage[];
  /** Lines the kernel held back ("show_signal_msg: 21 callbacks suppressed"), by the function that logs them. */
  suppressed: Record<string, number>;
  /** Records a process wrote to /dev/kmsg (journald, boot scripts): not the kernel's, not read. */
  fromProcesses: number;
}

/**
 * `records` in log order, `toWallMs` their clock to epoch ms; those logged
 * before `fromUs` (monotonic µs) are left out, those from `windowUs` on are in
 * the window. At most `maxEvents` events are kept, the newest.
 */
export function classify(records: KmsgRecord[], toWallMs: (usec: number) => number, fromUs: number, windowUs: number, maxEvents: number): Classified {
  const events: KernelEvent[] = [];
  const unknown = new Map<string, UnknownMessage>();
  let fromProcesses = 0;
  const suppressed: Record<string, number> = {};
  let tracing: { event: KernelEvent; usec: number } | undefined;
  let oomContext: Fields | undefined;
  for (const r of records) {
    if (r.facility !== 0) {
      fromProcesses++;
      continue;
    }
    if (r.usec < fromUs) continue;
    const time = new Date(toWallMs(r.usec)).toISOString();
    const inWindow = r.usec >= windowUs;
    if (tracing && r.usec - tracing.usec <= TRACE_GAP_US && TRACE_LINE.test(r.text)) {
      addTraceLine(tracing.event, r.text);
      continue;
    }
    tracing = undefined;
    const held = SUPPRESSED.exec(r.text);
    if (held) {
      suppressed[held[1]!] = (suppressed[held[1]!] ?? 0) + Number(held[2]);
      continue;
    }
    const context = OOM_CONTEXT.exec(r.text)?.groups;
    if (context) {
      oomContext = context;
      continue;
    }
    const event = match(r, time, inWindow, oomContext);
    if (event) {
      events.push(event);
      if (events.length > maxEvents) events.shift();
      if (KNOWN_MESSAGES.find((m) => m.kind === event.kind)?.trace) tracing = { event, usec: r.usec };
      if (event.kind === 'oom-kill') oomContext = undefined;
    } else if (r.level <= UNKNOWN_LEVEL && !TRACE_LINE.test(r.text)) {
      const shape = r.text
        .replace(/\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b/gi, 'H')
        .replace(/\d+/g, 'N')
        .slice(0, MAX_TEXT);
      const seen = unknown.get(shape);
      if (seen) Object.assign(seen, { count: seen.count + 1, lastTime: time, inWindow: seen.inWindow || inWindow, text: r.text.slice(0, MAX_TEXT) });
      else if (unknown.size < 1000) unknown.set(shape, { text: r.text.slice(0, MAX_TEXT), level: r.level, count: 1, lastTime: time, inWindow });
    }
  }
  return { events, unknown: [...unknown.values()].sort((a, b) => b.count - a.count).slice(0, MAX_UNKNOWN), suppressed, fromProcesses };
}

function match(r: KmsgRecord, time: string, inWindow: boolean, oomContext: Fields | undefined): KernelEvent | undefined {
  for (const known of KNOWN_MESSAGES) {
    const m = known.match.exec(r.text);
    if (!m) continue;
    const fields: Fields = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) fields[k] = v;
    // The context line names the cgroup whose limit ran out, for the kill that follows it.
    if (known.kind === 'oom-kill' && oomContext && oomContext.pid === fields.pid && oomContext.memcg) fields.memcg = oomContext.memcg;
    return { kind: known.kind, subject: known.subject(fields), time, inWindow, level: r.level, text: r.text.slice(0, MAX_TEXT), fields };
  }
  return undefined;
}

function addTraceLine(event: KernelEvent, line: string): void {
  const owner = HUNG_TASK_OWNER.exec(line)?.groups;
  if (owner) Object.assign(event.fields, { owner: owner.owner, lock: owner.lock });
  if (event.fields.owner) return; // the trace after it is the owner's
  const frame = TRACE_FRAME.exec(line)?.[1];
  if (frame && (event.stack ??= []).length < MAX_FRAMES) event.stack.push(frame);
}
