// One node's run through its Falco rules while the captures stream: records
// from each streaming capture become events, wait a moment so that events of
// different captures go through in time order (an exec before its process's
// first open), then meet the rules; each match is an alert at once (onAlert:
// the run's live events). At the end, the captures read only then (summaries,
// counters) go through, and the session says what it found: findings, Falco
// JSON alerts and every rule's state. Memory is bounded: pending events,
// alerts, examples, the process table and the dedup keys all have caps.
import type { FalcoNodeSummary, FalcoRuleState } from '../model/falco.js';
import type { Finding } from '../model/findings.js';
import { byEventTime, type SyscallEvent } from '../model/syscall-event.js';
import { ALERTS_FILE, ruleFindings } from './findings.js';
import type { HostInfo } from './host-info.js';
import type { LoadedRule, LoadedRules } from './load-rules.js';
import { RuleMatcher, type FalcoAlert, type MatcherOptions } from './matcher.js';
import { nodeEvents, Seen } from './node-events.js';
import { problemText } from './rule-file.js';
import { capturesFor, EVENT_SOURCES } from './sources/index.js';

/** Findings kept per node (one per rule that matched; the alerts file has every match). */
export const MAX_FINDINGS = 200;

/** Rules listed by name in the summary (disabled and in error); the rest are counted. */
export const MAX_LISTED_RULES = 500;

/** How long a streamed event waits for earlier ones from other captures (they drain every 10-80 ms, drain-clock.ts). */
export const REORDER_MS = 250;

/** Events waiting at most; past it the oldest go through at once. */
export const MAX_PENDING = 20_000;

export interface FalcoNodeResult {
  findings: Finding[];
  alerts: FalcoAlert[];
  summary: FalcoNodeSummary;
}

export interface SessionOptions extends MatcherOptions {
  /** Each alert as it is made (the first maxAlerts). */
  onAlert?(alert: FalcoAlert): void;
  /** Wall clock in ms (tests). */
  now?(): number;
}

export class NodeRuleSession {
  private readonly matcher: RuleMatcher;
  private readonly pending: SyscallEvent[] = [];
  private readonly seen = new Seen();
  /** Captures whose records came while they ran: their end results are not read again. */
  private readonly streamed = new Set<string>();
  private readonly now: () => number;
  private readonly problems: string[] = [];
  private readonly clock: NodeJS.Timeout;

  /** `captures`: those the run will have; rules none of them can feed are left out from the start. */
  constructor(
    readonly loaded: LoadedRules,
    private readonly node: string,
    host: HostInfo,
    captures: readonly string[],
    options: SessionOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    const types = typesOf(captures);
    const rules = loaded.rules.filter((r) => canSee(r, types));
    this.matcher = new RuleMatcher({ ...loaded, rules }, host, options);
    // Pending events go through even when no new records come to push them.
    this.clock = setInterval(() => this.guarded(() => this.release(this.now() - REORDER_MS)), REORDER_MS / 2);
    this.clock.unref();
  }

  /** A failure while streaming is said in the summary; it never reaches the capture that fed the records. */
  private guarded(work: () => void): void {
    try {
      work();
    } catch (err) {
      if (this.problems.length < 5) this.problems.push(`matching while streaming failed: ${(err as Error).message}`);
    }
  }

  /** Stops its clock (finish does too); for a job that ends without finishing it. */
  close(): void {
    clearInterval(this.clock);
  }

  /** This capture streams: its records come through add, and its result is not read at the end. */
  streams(capture: string): void {
    if (EVENT_SOURCES[capture]) this.streamed.add(capture);
  }

  /** New records of a streaming capture, in the shape its result keeps them ({ events }). */
  add(capture: string, data: Record<string, unknown>): void {
    const source = EVENT_SOURCES[capture];
    if (!source) return;
    this.streamed.add(capture);
    this.guarded(() =>
      this.addEvents(
        Array.from(source.events(data), (input): SyscallEvent => ({ ...input, capture })),
        source.complete,
      ),
    );
  }

  /** Events already mapped (add does the mapping; the benchmark feeds these). */
  addEvents(events: readonly SyscallEvent[], complete = false): void {
    for (const e of events) {
      if (complete) this.seen.add(e);
      this.pending.push(e);
    }
    this.release(this.now() - REORDER_MS);
  }

  /** Events older than `before` (all when undefined) through the rules, oldest first. */
  private release(before?: number): void {
    if (!this.pending.length) return;
    this.pending.sort(byEventTime);
    let n = before === undefined ? this.pending.length : this.pending.findIndex((e) => e.timeMs >= before);
    if (n === -1) n = this.pending.length;
    n = Math.max(n, this.pending.length - MAX_PENDING);
    for (const e of this.pending.splice(0, n)) this.matcher.push(e);
  }

  /**
   * The end: what is pending, then the results of captures that did not
   * stream (their events sorted by time), then the node's answer.
   * `results`: every capture result of the node (streamed ones are skipped).
   */
  finish(results: readonly unknown[], extraProblems: string[] = []): FalcoNodeResult {
    clearInterval(this.clock);
    this.release();
    const atEnd = results.filter((r) => !this.streamed.has(captureOf(r)));
    const { events, captures: endCaptures } = nodeEvents(atEnd, this.seen);
    for (const e of events) this.matcher.push(e);

    const ran = new Set([...results.map(captureOf).filter((c) => this.streamed.has(c)), ...endCaptures]);
    const types = typesOf([...ran]);
    // A rule whose event types this run did not capture is not matched, and says which capture it needs.
    const needs = new Map<string, string>();
    for (const r of this.loaded.rules) {
      if (canSee(r, types)) continue;
      needs.set(r.def.name, `this run did not capture its events (${[...r.eventTypes!].sort().join(', ')}: ${capturesFor(r.eventTypes).join(' or ')})`);
    }
    const states: FalcoRuleState[] = this.loaded.statuses.map((s) => {
      const reason = s.reason ?? needs.get(s.rule);
      return { rule: s.rule, file: s.file, state: s.state === 'loaded' && needs.has(s.rule) ? 'disabled' : s.state, ...(reason ? { reason } : {}) };
    });
    const m = this.matcher;
    const matches = [...m.hits.values()].reduce((n, h) => n + h.count, 0);
    const findings = ruleFindings(m, this.node).slice(0, MAX_FINDINGS);
    return {
      findings,
      alerts: m.alerts,
      summary: {
        files: this.loaded.files,
        loaded: states.filter((s) => s.state === 'loaded').length,
        notLoaded: states.filter((s) => s.state !== 'loaded').slice(0, MAX_LISTED_RULES),
        errors: [...extraProblems, ...this.problems, ...this.loaded.errors.map(problemText)],
        events: m.events,
        matches,
        alerts: m.alerts.length,
        alertsDropped: m.alertsDropped,
        ...(m.alerts.length ? { alertsFile: ALERTS_FILE } : {}),
        findings,
      },
    };
  }
}

const captureOf = (r: unknown): string =>
  typeof r === 'object' && r !== null && typeof (r as { capture?: unknown }).capture === 'string' ? (r as { capture: string }).capture : '';

const typesOf = (captures: readonly string[]) => new Set(captures.flatMap((c) => EVENT_SOURCES[c]?.types ?? []));

const canSee = (r: LoadedRule, types: ReadonlySet<string>) => !r.eventTypes || [...r.eventTypes].some((t) => types.has(t));
