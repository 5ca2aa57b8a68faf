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

/** One node's rule records from the captures that feed rules; complete sources (every event) first. */
export function nodeRecords(node: string, sources: { capture: string; source: RuleEventSource; data: Obj }[]): NodeRecords {
  const records: NodeRecords = { node, captureOf: {} };
  const connects = new Map<string, ConnectHit>();
  // A sampling source adds only destinations (and opens) no complete source saw.
  const seenComplete = new Set<string>();
  const seenOpens = new Set<string>();
  const openKey = (h: OpenHit) => `${h.pid}\0${h.path}\0${h.error ?? ''}`;
  const ordered = [...sources].sort((a, b) => Number(!!b.source.complete) - Number(!!a.source.complete));
  for (const { capture, source, data } of ordered) {
    const hits = source.records(data);
    const kind = source.kind;
    records.captureOf[kind] ??= capture;
    if (kind === 'exec') (records.execs ??= []).push(...(hits as ExecHit[]));
    else if (kind === 'open') {
      const opens = (hits as OpenHit[]).filter((h) => source.complete || !seenOpens.has(openKey(h)));
      if (source.complete) for (const h of opens) seenOpens.add(openKey(h));
      (records.opens ??= []).push(...opens);
    } else {
      records.connects ??= [];
      for (const h of hits as ConnectHit[]) {
        if (!source.complete && seenComplete.has(h.destination)) continue;
        if (source.complete) seenComplete.add(h.destination);
        const key = `${h.destination}\0${h.comm}\0${h.pid}`;
        const same = connects.get(key);
        if (same) same.count += h.count;
        else connects.set(key, { ...h });
      }
    }
  }
  if (records.connects) records.connects = [...connects.values()];
  return records;
}

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

/** The hits of one rule among a node's records. */
export function ruleHits(rule: Rule, records: { execs: ExecHit[]; opens: OpenHit[]; connects: ConnectHit[] }): Hit[] {
  if (rule.exec) {
    const m = rule.exec;
    return records.execs.filter((e) => execMatches(m, e) && !m.not?.some((n) => execMatches(n, e)));
  }
  if (rule.open) {
    const m = rule.open;
    return records.opens.filter((e) => openMatches(m, e) && !m.not?.some((n) => openMatches(n, e)));
  }
  if (rule.connect) {
    const m = rule.connect;
    return records.connects.filter((e) => connectMatches(m, e) && !m.not?.some((n) => connectMatches(n, e)));
  }
  return [];
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

export interface NodeRecords {
  node: string;
  execs?: ExecHit[];
  opens?: OpenHit[];
  connects?: ConnectHit[];
  /** Which capture each kind's records came from (mostly), for the finding's file. */
  captureOf: Partial<Record<RuleEventKind, string>>;
}

/** What a responder looks at next after a rule hit, by what it matched. */
const NEXT_STEP = {
  exec: 'who started it (the parent chain in execsnoop.ndjson) and whether that is expected on this host',
  open: 'which program opened it and what it did next (its execs and connects in this run)',
  connect: 'which program connected and whether that destination is expected',
} as const;

/** One finding per rule with hits on the node, ranked by the rule's severity and how often it hit. */
export function matchRules(rules: Rule[], records: NodeRecords): Finding[] {
  const findings: Finding[] = [];
  const execs = records.execs ?? [];
  const opens = records.opens ?? [];
  const connects = records.connects ?? [];
  for (const rule of rules) {
    const kind = rule.exec ? 'exec' : rule.open ? 'open' : 'connect';
    if ((kind === 'exec' && !records.execs) || (kind === 'open' && !records.opens) || (kind === 'connect' && !records.connects)) continue;
    const hits = ruleHits(rule, { execs, opens, connects });
    if (!hits.length) continue;
    const count = hits.reduce((n, h) => n + hitWeight(h), 0);
    const who = new Map<string, number>();
    for (const h of hits) addTo(who, hitWho(h), hitWeight(h));
    const capture = records.captureOf[kind] ?? kind;
    const more = count > 1 ? ` (${plural(count, 'hit')}${who.size > 1 ? ` by ${listText(topKeys(who, 3))}` : ''})` : '';
    const title = `${rule.title}: ${hitText(hits[0]!)}${more} [rule ${rule.name}]; next: ${NEXT_STEP[kind]}.`;
    findings.push(
      makeFinding(
        { node: records.node, capture, file: `nodes/${records.node}/${capture}.json` },
        `rule:${rule.name}`,
        rule.severity as Severity,
        title,
        {
          rule: rule.name,
          ruleTitle: rule.title,
          matches: kind,
          hits: count,
          examples: hits.slice(0, 20),
        },
        count,
        { value: count, unit: 'hits', basis: `${plural(count, 'hit')} of a ${rule.severity} rule`, bears: ['security'] },
      ),
    );
  }
  return findings;
}
