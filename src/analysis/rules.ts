// Rules for the suspicious-activity runbook: patterns matched against the
// execs (execsnoop), opens (opensnoop) and outbound connects (tcplife,
// tcpconnlat) of a run. A rule has exactly one of `exec`, `open`, `connect`;
// every field given must match (patterns are globs: `*` is any run of
// characters, `/` included, `?` one character), and an event that matches one
// of the rule's `not` patterns is left out. The runbook schema
// (src/runbooks/schema.ts) embeds ruleSchema.
import type { z } from 'zod';
import { connectMatchSchema, execMatchSchema, openMatchSchema, type Rule } from '../model/rule.js';
import { addTo, makeFinding, topKeys, type Obj } from './common.js';
import { listText, plural, processLabel } from '../format/index.js';
import type { Finding, Severity } from './types.js';
import type { ConnectHit, ExecHit, OpenHit, RuleEventKind, RuleEventSource, RuleHit } from './rule-events.js';

export { connectHit, type ConnectHit, type ExecHit, type OpenHit, type RuleEventKind, type RuleEventSource, type RuleHit } from './rule-events.js';

export { connectMatchSchema, execMatchSchema, openMatchSchema, ruleSchema, type Rule, type RuleInput } from '../model/rule.js';
type ExecMatch = z.output<typeof execMatchSchema>;
type OpenMatch = z.output<typeof openMatchSchema>;
type ConnectMatch = z.output<typeof connectMatchSchema>;

// ---- matching -------------------------------------------------------------

const globCache = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globCache.get(pattern);
  if (!re) {
    const body = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    if (globCache.size > 10_000) globCache.clear();
    globCache.set(pattern, re);
  }
  return re;
}
const anyGlob = (list: string[] | undefined, value: string) => !list || list.some((p) => glob(p).test(value));

type Hit = RuleHit;

function execMatches(m: Omit<ExecMatch, 'not'>, e: ExecHit): boolean {
  return (
    anyGlob(m.comm, e.comm) &&
    anyGlob(m.parentComm, e.parentComm) &&
    anyGlob(m.filename, e.filename) &&
    anyGlob(m.args, e.args) &&
    (!m.uid || m.uid.includes(e.uid)) &&
    (m.failed === undefined || m.failed === (e.error !== undefined))
  );
}

function openMatches(m: Omit<OpenMatch, 'not'>, e: OpenHit): boolean {
  return (
    anyGlob(m.path, e.path) &&
    anyGlob(m.comm, e.comm) &&
    (!m.access || m.access === 'any' || (m.access === 'write') === e.write) &&
    (m.failed === undefined || m.failed === (e.error !== undefined))
  );
}

function connectMatches(m: Omit<ConnectMatch, 'not'>, e: ConnectHit): boolean {
  // A rule about the process cannot match a connect whose process is unknown.
  if (m.comm && !e.comm) return false;
  return anyGlob(m.destination, e.destination) && anyGlob(m.address, e.address) && (!m.port || m.port.includes(e.port)) && anyGlob(m.comm, e.comm);
}

const clip = (s: string, max = 120) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

function hitText(hit: Hit): string {
  switch (hit.kind) {
    case 'exec':
      return `${processLabel(hit.parentComm, hit.ppid)} ran ${clip(hit.args || hit.filename)}${hit.error ? ` (failed: ${hit.error})` : ''}`;
    case 'open':
      return `${processLabel(hit.comm, hit.pid)} opened ${hit.path} for ${hit.write ? 'writing' : 'reading'}${hit.error ? ` (failed: ${hit.error})` : ''}`;
    case 'connect':
      return `${hit.comm ? processLabel(hit.comm, hit.pid) : 'a process'} connected to ${hit.destination}${hit.count > 1 ? ` ${hit.count} times` : ''}`;
  }
}

const hitWeight = (hit: Hit) => (hit.kind === 'connect' ? hit.count : 1);
const hitWho = (hit: Hit) => (hit.kind === 'exec' ? processLabel(hit.parentComm, hit.ppid) : hit.comm ? processLabel(hit.comm, hit.pid) : 'unknown process');

/** What a responder looks at next after a rule hit, by what it matched. */
const NEXT_STEP = {
  exec: 'who started it (the parent chain in execsnoop.ndjson) and whether that is expected on this host',
  open: 'which program opened it and what it did next (its execs and connects in this run)',
  connect: 'which program connected and whether that destination is expected',
} as const;

/** A node's rule sources: each capture that feeds rules, with its result. */
export interface NodeRuleSource {
  capture: string;
  source: RuleEventSource;
  data: Obj;
}

/** Examples a finding carries per rule; every hit is counted. */
const MAX_EXAMPLES = 20;
/** Distinct processes counted per rule (who hit it most); past it, new ones are not named. */
const MAX_WHO = 10_000;
/** Opens of complete sources remembered to drop a sampling source's copy; past it, a copy may count twice. */
const MAX_SEEN_OPENS = 200_000;

/** One rule's hits so far: counted, the first ones kept as examples. */
class RuleTally {
  count = 0;
  readonly who = new Map<string, number>();
  readonly examples: Hit[] = [];

  constructor(readonly rule: Rule) {}

  add(hit: Hit): void {
    const weight = hitWeight(hit);
    this.count += weight;
    const who = hitWho(hit);
    if (this.who.has(who) || this.who.size < MAX_WHO) addTo(this.who, who, weight);
    if (this.examples.length < MAX_EXAMPLES) this.examples.push(hit);
  }
}

const ruleKind = (rule: Rule): RuleEventKind => (rule.exec ? 'exec' : rule.open ? 'open' : 'connect');

function matches(rule: Rule, hit: Hit): boolean {
  if (rule.exec && hit.kind === 'exec') return execMatches(rule.exec, hit) && !rule.exec.not?.some((n) => execMatches(n, hit));
  if (rule.open && hit.kind === 'open') return openMatches(rule.open, hit) && !rule.open.not?.some((n) => openMatches(n, hit));
  if (rule.connect && hit.kind === 'connect') return connectMatches(rule.connect, hit) && !rule.connect.not?.some((n) => connectMatches(n, hit));
  return false;
}

/**
 * One node's rule findings: the records of its captures go through the rules
 * once, as they are read (a spooled result is never held whole), complete
 * sources (every event) first; a sampling source adds only what no complete
 * one saw. Connects are summed per destination and process before matching.
 */
export function matchNodeRules(rules: Rule[], node: string, sources: readonly NodeRuleSource[]): Finding[] {
  const tallies = rules.map((rule) => new RuleTally(rule));
  const byKind = (kind: RuleEventKind) => tallies.filter((t) => ruleKind(t.rule) === kind);
  const ofKind = { exec: byKind('exec'), open: byKind('open'), connect: byKind('connect') };
  const captureOf: Partial<Record<RuleEventKind, string>> = {};
  const push = (hit: Hit) => {
    for (const tally of ofKind[hit.kind]) if (matches(tally.rule, hit)) tally.add(hit);
  };
  const connects = new Map<string, ConnectHit>();
  const seenComplete = new Set<string>();
  const seenOpens = new Set<string>();
  const openKey = (h: OpenHit) => `${h.pid}\0${h.path}\0${h.error ?? ''}`;
  const ordered = [...sources].sort((a, b) => Number(!!b.source.complete) - Number(!!a.source.complete));
  for (const { capture, source, data } of ordered) {
    const kind = source.kind;
    captureOf[kind] ??= capture;
    if (!ofKind[kind].length) continue;
    for (const hit of source.records(data)) {
      if (hit.kind === 'exec') push(hit);
      else if (hit.kind === 'open') {
        const key = openKey(hit);
        if (!source.complete && seenOpens.has(key)) continue;
        if (source.complete && seenOpens.size < MAX_SEEN_OPENS) seenOpens.add(key);
        push(hit);
      } else {
        if (!source.complete && seenComplete.has(hit.destination)) continue;
        if (source.complete) seenComplete.add(hit.destination);
        const key = `${hit.destination}\0${hit.comm}\0${hit.pid}`;
        const same = connects.get(key);
        if (same) same.count += hit.count;
        else connects.set(key, { ...hit });
      }
    }
  }
  for (const hit of connects.values()) push(hit);
  return tallies.flatMap((tally) => {
    const kind = ruleKind(tally.rule);
    return captureOf[kind] && tally.count ? [ruleFinding(tally, node, captureOf[kind])] : [];
  });
}

function ruleFinding({ rule, count, who, examples }: RuleTally, node: string, capture: string): Finding {
  const kind = ruleKind(rule);
  const more = count > 1 ? ` (${plural(count, 'hit')}${who.size > 1 ? ` by ${listText(topKeys(who, 3))}` : ''})` : '';
  const title = `${rule.title}: ${hitText(examples[0]!)}${more} [rule ${rule.name}]; next: ${NEXT_STEP[kind]}.`;
  return makeFinding(
    { node, capture, file: `nodes/${node}/${capture}.json` },
    `rule:${rule.name}`,
    rule.severity as Severity,
    title,
    { rule: rule.name, ruleTitle: rule.title, matches: kind, hits: count, examples },
    count,
    { value: count, unit: 'hits', basis: `${plural(count, 'hit')} of a ${rule.severity} rule`, bears: ['security'] },
  );
}
