// Events through the loaded rules, in time order: execs update the process
// table first (proc.* of an exec is the new program), then every rule that
// can match the event's type is tried. Each match is an alert in Falco's JSON
// shape; alerts are kept up to a cap, counts are kept for all.
import { posix } from 'node:path';
import { newEventMemo } from './compile.js';
import { byEventTime, type SyscallEvent } from '../model/syscall-event.js';
import type { EventMemo, FieldContext } from './fields.js';
import type { HostInfo } from './host-info.js';
import type { LoadedRule, LoadedRules } from './load-rules.js';
import { ProcessTable } from './process-table.js';
import type { Priority } from './rule-set.js';

/** Falco's JSON alert (json_output: true), what Falcosidekick and SIEM pipelines take. */
export interface FalcoAlert {
  time: string;
  rule: string;
  priority: string;
  output: string;
  output_fields: Record<string, string | number | boolean | null>;
  tags: string[];
  hostname: string;
  source: 'syscall';
}

export interface RuleHits {
  rule: LoadedRule;
  count: number;
  /** The first alerts of this rule (examples). */
  examples: FalcoAlert[];
  /** Captures its matching events came from. */
  captures: Set<string>;
}

/** Falco's spelling of a priority in alerts. */
export const priorityLabel = (p: Priority) => p[0]!.toUpperCase() + p.slice(1);

export interface MatcherOptions {
  /** Alerts kept in total (the rest are counted); default 10,000. */
  maxAlerts?: number;
  /** Examples kept per rule; default 20. */
  examplesPerRule?: number;
  /** Each kept alert as it is made. */
  onAlert?(alert: FalcoAlert): void;
}

export class RuleMatcher {
  readonly table: ProcessTable;
  readonly alerts: FalcoAlert[] = [];
  readonly hits = new Map<string, RuleHits>();
  alertsDropped = 0;
  events = 0;
  private readonly byType = new Map<string, LoadedRule[]>();
  private readonly anyType: LoadedRule[] = [];
  private readonly memo: EventMemo;
  private readonly maxAlerts: number;
  private readonly examplesPerRule: number;
  private readonly onAlert?: (alert: FalcoAlert) => void;

  constructor(
    readonly loaded: LoadedRules,
    host: HostInfo,
    options: MatcherOptions = {},
  ) {
    this.table = new ProcessTable(host);
    this.memo = newEventMemo(loaded.slots);
    this.maxAlerts = options.maxAlerts ?? 10_000;
    this.examplesPerRule = options.examplesPerRule ?? 20;
    this.onAlert = options.onAlert;
    for (const rule of loaded.rules) {
      if (!rule.eventTypes) this.anyType.push(rule);
      else for (const t of rule.eventTypes) this.byType.set(t, [...(this.byType.get(t) ?? []), rule]);
    }
  }

  /** One event; call in time order. */
  push(ev: SyscallEvent): void {
    this.events++;
    const proc = ev.exec ? this.table.noteExec(ev) : this.table.of(ev);
    // Falco's fd.name is absolute: a cwd-relative path is resolved when the cwd is known.
    if (ev.fd?.kind === 'file' && !ev.fd.path.startsWith('/') && ev.args.dirfd === 'AT_FDCWD' && proc?.cwd) {
      ev.fd.path = posix.resolve(proc.cwd, ev.fd.path);
    }
    const typed = this.byType.get(ev.type);
    if (!typed && !this.anyType.length) return;
    const c: FieldContext = { ev, proc, table: this.table, num: this.events, memo: this.memo };
    if (typed) for (const rule of typed) this.tryRule(rule, c);
    for (const rule of this.anyType) this.tryRule(rule, c);
    // Falco forgets a process at its end; so does the table (it stays bounded on long runs).
    if (ev.type === 'procexit') this.table.forget(ev.pid);
  }

  private tryRule(rule: LoadedRule, c: FieldContext): void {
    if (!rule.test(c)) return;
    let hits = this.hits.get(rule.def.name);
    if (!hits) this.hits.set(rule.def.name, (hits = { rule, count: 0, examples: [], captures: new Set() }));
    hits.count++;
    hits.captures.add(c.ev.capture);
    const keepAlert = this.alerts.length < this.maxAlerts;
    if (!keepAlert) this.alertsDropped++;
    if (!keepAlert && hits.examples.length >= this.examplesPerRule) return;
    const alert = this.alertOf(rule, c);
    if (keepAlert) {
      this.alerts.push(alert);
      this.onAlert?.(alert);
    }
    if (hits.examples.length < this.examplesPerRule) hits.examples.push(alert);
  }

  private alertOf(rule: LoadedRule, c: FieldContext): FalcoAlert {
    const { line, fields } = rule.output.render(c);
    const time = new Date(c.ev.timeMs).toISOString();
    const priority = priorityLabel(rule.def.priority);
    return {
      time,
      rule: rule.def.name,
      priority,
      // Falco's json output starts the line with the event time and the priority.
      output: `${time.slice(11, 23)}000000: ${priority} ${line}`,
      output_fields: { 'evt.time': Math.round(c.ev.timeMs * 1e6), ...fields },
      tags: rule.def.tags,
      hostname: this.table.host.hostname,
      source: 'syscall',
    };
  }
}

/** Events of any order through the rules, sorted by time first. */
export function matchEvents(loaded: LoadedRules, events: SyscallEvent[], host: HostInfo, options?: MatcherOptions): RuleMatcher {
  const matcher = new RuleMatcher(loaded, host, options);
  const sorted = events.map((e, i) => [e, i] as const).sort((a, b) => byEventTime(a[0], b[0]) || a[1] - b[1]);
  for (const [e] of sorted) matcher.push(e);
  return matcher;
}
