// analyzeRun: a run's capture results on every node → ranked findings. Pure
// (no I/O), and it never throws: odd data reads as empty, an analyzer that
// fails anyway becomes an info finding naming it, and a capture file that
// could not be read is one too. A run with nothing wrong gets one finding
// saying so and listing what was checked. Each node's part can be made apart
// (on its worker) and merged later: RunAnalysis.analyzeNode / addPart.
import { createHash } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { NodeResult } from '../captures/capture.js';
import type { RunRecord } from '../model/run.js';
import { fileOf, isObj, mergeThresholds, num, str, type CaptureAnalysis, type AnalysisContext, type Obj } from '../analysis/common.js';
import { captures } from '../captures/registry.js';
import { fmtCount, listText, plural } from '../format/index.js';
import { matchNodeRules, ruleSchema, type RuleEventSource, type Rule } from '../analysis/rules.js';
import { linkCauses } from '../analysis/causes.js';
import { rankFindings, sortFindings } from '../analysis/rank.js';
import { SYMPTOMS, type Finding, type Symptom, type Thresholds } from '../analysis/types.js';

/** What a capture checks, for "No problems found: checked ...". */
const checksOf = (capture: string) => captures.get(capture)?.analysis?.checks ?? capture;

export type { NodeResult };

/** A capture that was analyzed: on which node, and what was looked at. */
export interface CheckedCapture {
  node: string;
  capture: string;
  what: string;
}

/**
 * One node's share of a run's analysis, made from that node's results alone
 * and merged into the run's with addPart; plain JSON, so a worker can store it.
 */
export interface NodeAnalysisPart {
  findings: Finding[];
  checked: CheckedCapture[];
  /** Captures not checked: their file could not be read, or their analysis failed ("profile on web-1"). */
  unchecked: string[];
  /** Why the node's analysis stopped half-way (a bug); merged as the run's "stopped early" finding. */
  stoppedEarly?: string;
}

export interface AnalyzeInput {
  run: RunRecord;
  results: NodeResult[];
  /** Overrides the run's own (run.plan.thresholds), which override the defaults. */
  thresholds?: Thresholds;
  /** The suspicious-activity rules; the run's own (run.plan.rules) when absent. */
  rules?: Rule[];
}

export { sortFindings };

/** Whom the run looked at, for sentences whose data names no process. */
function targetLabel(run: RunRecord): string | undefined {
  const plan = (isObj(run?.plan) ? run.plan : {}) as Partial<RunRecord['plan']> & { params?: Record<string, unknown> };
  const params = isObj(plan.params) ? plan.params : {};
  const target = isObj(plan.target) ? (plan.target as Obj) : {};
  if (typeof params.service === 'string' && params.service) return params.service;
  if (str(target.comm)) return str(target.comm);
  if (str(target.unit)) return str(target.unit);
  if (Array.isArray(target.pid) && target.pid.length) return `pid ${target.pid.join(',')}`;
  if (num(target.port)) return `the listener on port ${num(target.port)}`;
  if (str(target.cgroup)) return `cgroup ${str(target.cgroup)}`;
  return undefined;
}

function validRules(rules: unknown): Rule[] {
  if (!Array.isArray(rules)) return [];
  return rules.flatMap((r) => {
    const parsed = ruleSchema.safeParse(r);
    return parsed.success ? [parsed.data] : [];
  });
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function analyzeRun(input: AnalyzeInput): Finding[] {
  const analysis = new RunAnalysis(input);
  const byNode = new Map<string, NodeResult[]>();
  for (const item of Array.isArray(input.results) ? input.results : []) {
    const node = isObj(item) ? str(item.node) || '?' : '?';
    byNode.set(node, [...(byNode.get(node) ?? []), item]);
  }
  for (const results of byNode.values()) analysis.addNode(results);
  return analysis.finish();
}

/**
 * The same analysis, one node at a time: addNode() with each node's results
 * (all of them, so its rules see its execs, opens and connects together),
 * then finish(). A caller that reads results from storage keeps one node's
 * data in memory at a time. addNode is analyzeNode + addPart: a node's part
 * may be made elsewhere (its worker) by a RunAnalysis of the same run, and
 * merged here if settingsKey() matches.
 */
export class RunAnalysis {
  private readonly findings: Finding[] = [];
  private readonly checked: CheckedCapture[] = [];
  /** Captures that were not checked: their file could not be read, or their analysis failed. */
  private readonly unchecked: string[] = [];
  private readonly run: RunRecord;
  private readonly thresholds: Required<Thresholds>;
  private readonly rules: Rule[];
  private readonly planWindow: number;
  /** What the runbook is about: findings are ranked by their impact on it. */
  private readonly symptom: Symptom;
  private readonly label: string | undefined;

  constructor(input: Omit<AnalyzeInput, 'results'>) {
    this.run = input.run;
    const plan = this.plan();
    this.thresholds = mergeThresholds(plan.thresholds, input.thresholds);
    this.rules = input.rules ?? validRules(plan.rules);
    this.planWindow = num(plan.durationMs) / 1000;
    this.symptom = (SYMPTOMS as readonly string[]).includes(str(plan.symptom)) ? (plan.symptom as Symptom) : 'health';
    this.label = safely(() => targetLabel(this.run), undefined);
  }

  private plan(): Partial<RunRecord['plan']> {
    return (isObj(this.run) && isObj(this.run.plan) ? this.run.plan : {}) as Partial<RunRecord['plan']>;
  }

  addNode(results: NodeResult[]): void {
    this.addPart(this.analyzeNode(results));
  }

  /** One node's part alone, from all of its results; never throws (a bug is kept as stoppedEarly). */
  analyzeNode(results: NodeResult[]): NodeAnalysisPart {
    const part: NodeAnalysisPart = { findings: [], checked: [], unchecked: [] };
    try {
      for (const _ of this.analyzeNodeSteps(results, part));
    } catch (err) {
      part.stoppedEarly = errorText(err);
    }
    return part;
  }

  /**
   * The same, giving the event loop a turn after each capture: a worker's
   * spooled results take seconds to read, and its heartbeats and deadline must
   * go on meanwhile.
   */
  async analyzeNodeYielding(results: NodeResult[]): Promise<NodeAnalysisPart> {
    const part: NodeAnalysisPart = { findings: [], checked: [], unchecked: [] };
    try {
      for (const _ of this.analyzeNodeSteps(results, part)) await setImmediate();
    } catch (err) {
      part.stoppedEarly = errorText(err);
    }
    return part;
  }

  /** Merges one node's part, in the order the nodes would have been added. */
  addPart(part: NodeAnalysisPart): void {
    for (const f of part.findings) this.findings.push(f);
    for (const c of part.checked) this.checked.push(c);
    for (const u of part.unchecked) this.unchecked.push(u);
    if (part.stoppedEarly !== undefined) this.stoppedEarly(part.stoppedEarly);
  }

  /**
   * What a node's part depends on besides its results (thresholds, rules,
   * window, target label): a part made under another key must not be merged.
   */
  settingsKey(): string {
    const settings = { thresholds: this.thresholds, rules: this.rules, window: this.planWindow, label: this.label ?? null };
    return createHash('sha256').update(JSON.stringify(settings)).digest('base64url');
  }

  finish(): Finding[] {
    try {
      this.nodeStates();
      linkCauses(this.findings);
      rankFindings(this.findings, this.symptom); // scores, and caps severities by impact, before "No problems found" looks
      this.summary();
    } catch (err) {
      this.stoppedEarly(err);
    }
    return sortFindings(this.findings);
  }

  private stoppedEarly(err: unknown): void {
    // Only a bug gets here (each part is guarded); say so rather than lose the rest.
    if (this.findings.some((f) => f.id === 'analysis:*:failed')) return;
    this.findings.push({
      id: 'analysis:*:failed',
      severity: 'info',
      title: `Analysis stopped early (${errorText(err)}); the other findings are partial.`,
      node: '*',
      capture: '*',
      evidence: {},
      file: '',
      score: 0,
    });
  }

  /** Analyzes into `part`, yielding after each capture's result (and before the rules). */
  private *analyzeNodeSteps(results: NodeResult[], part: NodeAnalysisPart): Generator<void> {
    const { thresholds, rules } = this;
    const { findings, checked, unchecked } = part;
    const ruleSources = new Map<string, { capture: string; source: RuleEventSource; data: Obj }[]>();

    for (const item of results) {
      yield;
      if (!isObj(item)) continue;
      const node = str(item.node) || '?';
      const result = (item as { result?: unknown }).result;
      const declared = str((item as { capture?: unknown }).capture);
      const capture = str(isObj(result) ? result.capture : '') || declared || '?';
      const file = fileOf(node, capture);
      const info = (key: string, title: string, evidence: Record<string, unknown> = {}) =>
        findings.push({ id: `${capture}:${node}:${key}`, severity: 'info', title, node, capture, evidence, file, score: 0 });

      if (!isObj(result)) {
        const error = str((item as { error?: unknown }).error) || 'it holds no capture result';
        unchecked.push(`${capture} on ${node}`);
        info('unreadable', `The capture file ${file} could not be read (${error}); ${checksOf(capture)} on ${node} was not checked.`, { error });
        continue;
      }
      const data = result as Obj;
      const ctx: AnalysisContext = {
        node,
        capture,
        file,
        thresholds,
        windowSeconds: num(data.durationMs) / 1000 || this.planWindow || 1,
        ...(this.label ? { targetLabel: this.label } : {}),
        symptom: this.symptom,
      };
      const analyzer = captures.get(capture)?.analysis?.analyze;
      let analysis: CaptureAnalysis | undefined = { findings: [], checked: checksOf(capture) };
      if (analyzer) {
        try {
          analysis = analyzer(data, ctx);
        } catch (err) {
          analysis = undefined;
          unchecked.push(`${capture} on ${node}`);
          info('analysis-failed', `Analysis of ${capture} on ${node} failed (${errorText(err)}); see ${file} for the raw data.`, { error: errorText(err) });
        }
      }
      if (analysis) {
        findings.push(...analysis.findings);
        checked.push({ node, capture, what: analysis.checked });
      }

      const dropped = num(data.dropped);
      if (dropped > 0) {
        const drops = isObj(data.drops) ? data.drops : {};
        const reasons = Object.entries(drops)
          .filter(([, n]) => num(n) > 0)
          .map(([r, n]) => `${r} ${fmtCount(num(n))}`);
        const truncated = isObj(data.truncated) && typeof data.truncated.message === 'string' ? data.truncated : undefined;
        info(
          'dropped',
          `${capture} on ${node} dropped ${plural(dropped, 'event')}${reasons.length ? ` (${reasons.join(', ')})` : ''}` +
            `${truncated ? `; truncated: ${String(truncated.message)}` : ''}: its counts are lower bounds; raise its limits for the full picture.`,
          { dropped, drops, ...(truncated ? { truncated } : {}) },
        );
      }

      const source = captures.get(capture)?.ruleEvents;
      if (rules.length && source) ruleSources.set(node, [...(ruleSources.get(node) ?? []), { capture, source, data }]);
    }

    // Rules (suspicious-activity), per node.
    for (const [node, sources] of ruleSources) {
      yield;
      try {
        findings.push(...matchNodeRules(rules, node, sources));
      } catch (err) {
        findings.push({
          id: `rules:${node}:failed`,
          severity: 'info',
          title: `Matching the runbook's rules on ${node} failed (${errorText(err)}).`,
          node,
          capture: '*',
          evidence: { error: errorText(err) },
          file: '',
          score: 0,
        });
      }
    }
  }

  /** Nodes and captures that returned nothing. */
  private nodeStates(): void {
    const { findings, checked } = this;
    const nodes = isObj(this.run) && isObj(this.run.nodes) ? this.run.nodes : {};
    for (const [node, state] of Object.entries(nodes)) {
      if (!isObj(state)) continue;
      if (state.status === 'failed' && !checked.some((c) => c.node === node)) {
        findings.push({
          id: `node:${node}:failed`,
          severity: 'warning',
          title: `Node ${node} returned no results (${str(state.error) || 'its worker failed'}): nothing there was checked.`,
          node,
          capture: '*',
          evidence: { status: state.status, ...(state.error ? { error: state.error } : {}) },
          file: '',
          score: 1,
        });
        continue;
      }
      for (const c of Array.isArray(state.captures) ? state.captures : []) {
        if (!isObj(c) || !c.error) continue;
        const capture = str(c.capture) || '?';
        findings.push({
          id: `${capture}:${node}:did-not-run`,
          severity: 'info',
          title: `${capture} did not run on ${node} (${str(c.error)}): ${checksOf(capture)} there was not checked.`,
          node,
          capture,
          evidence: { error: c.error },
          file: '',
          score: 0,
        });
      }
    }
  }

  /** "No problems found", when nothing is a warning or worse. */
  private summary(): void {
    const { findings, checked, unchecked, rules, thresholds } = this;
    if (findings.some((f) => f.severity === 'critical' || f.severity === 'warning')) return;
    const nodeNames = [...new Set(checked.map((c) => c.node))];
    const what = [...new Set(checked.map((c) => checksOf(c.capture)))];
    if (rules.length) what.push(`${plural(rules.length, 'rule')}`);
    const states = isObj(this.run) && isObj(this.run.nodes) ? Object.values(this.run.nodes).filter(isObj) : [];
    const cancelled = states.filter((n) => n.status === 'cancelled').length;
    const title = checked.length
      ? `No problems found on ${nodeNames.length === 1 ? nodeNames[0] : plural(nodeNames.length, 'node')}: checked ${listText(what, what.length)}` +
        (unchecked.length ? `; ${listText(unchecked)} could not be checked` : '') +
        (cancelled ? `; the run was cancelled, so the window was cut short on ${plural(cancelled, 'node')}` : '') +
        '.'
      : cancelled && cancelled === states.length && !unchecked.length
        ? 'Nothing was checked: the run was cancelled before its captures ran.'
        : `No problems found, but nothing was checked: no capture result could be analyzed${unchecked.length ? ` (${listText(unchecked)})` : ''}.`;
    findings.push({
      id: 'run:*:no-problems',
      severity: 'info',
      title,
      node: nodeNames.length === 1 ? nodeNames[0]! : '*',
      capture: '*',
      evidence: { checked, thresholds, ...(rules.length ? { rules: rules.map((r) => r.name) } : {}), ...(unchecked.length ? { unchecked } : {}) },
      file: '',
      score: 0,
    });
  }
}

function safely<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}
