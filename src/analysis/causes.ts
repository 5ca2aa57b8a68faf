// One cause, one finding. Passes over a node's findings:
// - cause chains: a finding that `shows` a link key (slow connects to D, tasks
//   waiting for a CPU) and one that `explains` it (SYN retransmits to D, a
//   process burning CPUs) become one finding: a cause that names a process
//   leads and takes every symptom it explains as an effect; otherwise the
//   symptom leads with its cause as a step (`evidence.steps`, the sentence);
//   a finding that `repeats` a key is another capture's view of the same
//   events: a step of the one explaining it ("Also seen: ..."), adding nothing;
//   a cause and a symptom that both name their threads link only when the
//   cause's time fills a quarter of the symptom's in them;
// - same cause: findings with one `cause.key` merge into the one with the
//   largest impact, with every subject's numbers in `evidence.sameCause`;
//   before the chains (three runs of one job's dd become one step of what
//   they did to others, not three) and after them (leads alike).
// Knows nothing of capture names: the analyzers declare keys and links.
import { impactOf } from './rank.js';
import type { Finding, Impact, Links, Severity } from './types.js';

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };
const MAX_SUBJECTS = 10;

const impactValue = (f: Finding) => impactOf(f)?.value ?? 0;
const namesProcess = (f: Finding) => typeof f.evidence?.pid === 'number' && (f.evidence.pid as number) > 0;
const worse = (a: Severity, b: Severity): Severity => ((SEVERITY_ORDER[a] ?? 3) <= (SEVERITY_ORDER[b] ?? 3) ? a : b);
const sentence = (title: string) => title.replace(/[.\s]+$/, '');
const round = (n: number) => Math.round(n * 1e4) / 1e4;
const ROLE_LABEL = { cause: 'Cause', effect: 'Effect', cost: 'Its own cost', repeat: 'Also seen' } as const;
type Role = keyof typeof ROLE_LABEL;

/** A cause's time in the symptom's threads fills at least this share of the symptom's time there. */
const THREAD_COVER = 0.25;

/** Both name the threads their time was in, and the cause's fills too little of the symptom's: it happened beside it, not in it. */
function apart(cause: Finding, symptom: Finding): boolean {
  const [a, b] = [cause.links?.threads, symptom.links?.threads];
  if (!a?.length || !b?.length) return false;
  const causeMs = new Map(a);
  let [covered, total] = [0, 0];
  for (const [tid, ms] of b) {
    covered += Math.min(ms, causeMs.get(tid) ?? 0);
    total += ms;
  }
  return covered < total * THREAD_COVER;
}

/** `symptom` (showing `key`) can be `cause`'s own cost: declared, and no larger than it can be. */
const costs = (cause: Finding, key: string, symptom: Finding) =>
  cause.links?.costs?.includes(key) === true && impactValue(symptom) <= (cause.links.costsAtMost ?? Infinity);

/** Links and merges findings in place (each node apart); returns the array. */
export function linkCauses(findings: Finding[]): Finding[] {
  const byNode = new Map<string, Finding[]>();
  for (const f of findings) byNode.set(f.node, [...(byNode.get(f.node) ?? []), f]);
  const kept: Finding[] = [];
  for (const list of byNode.values()) kept.push(...sameCause(chains(sameCause(list))));
  findings.splice(0, findings.length, ...kept);
  return findings;
}

/**
 * What a symptom repeats (told by the finding it repeats before anything explains it: one sentence for the same events),
 * then what it shows; `shows` is read live: absorbing a cause may add its causes' keys to it.
 */
function* keysOf(symptom: Finding): Generator<string> {
  yield* symptom.links?.repeats ?? [];
  yield* symptom.links?.shows ?? [];
}

function chains(list: Finding[]): Finding[] {
  const gone = new Set<Finding>();
  const linked = new Set<Finding>();
  for (const symptom of list) {
    const repeats = new Set(symptom.links?.repeats ?? []);
    for (const key of keysOf(symptom)) {
      if (gone.has(symptom)) break;
      // The cause with the most impact that explains it (or counts it as its own cost); one kept on its own first,
      // so that one finding tells it (four processes of one program: the one with a hot function, not a bare CPU user).
      const cause = list
        .filter((c) => c !== symptom && !gone.has(c) && (c.links?.explains?.includes(key) || costs(c, key, symptom)) && !apart(c, symptom))
        .sort((a, b) => Number(!!a.links?.onlyAsCause) - Number(!!b.links?.onlyAsCause) || impactValue(b) - impactValue(a))[0];
      if (!cause) continue;
      // A process (or a cause marked `leads`, or one whose own cost it is) leads (it may explain several symptoms); else the symptom, with its cause as a step.
      // A repeat is told by the finding it repeats.
      const ownCost = costs(cause, key, symptom);
      const causeLeads = repeats.has(key) || ownCost || namesProcess(cause) || cause.links?.leads === true;
      const [lead, step] = causeLeads ? [cause, symptom] : [symptom, cause];
      absorb(lead, step, repeats.has(key) ? 'repeat' : ownCost ? 'cost' : causeLeads ? 'effect' : 'cause', key);
      gone.add(step);
      linked.add(lead);
    }
  }
  return list.filter((f) => !gone.has(f) && !(f.links?.onlyAsCause && !linked.has(f)));
}

/** `step` becomes a step of `lead`: its sentence, numbers and severity, one impact (the larger: the same time, seen twice). */
function absorb(lead: Finding, step: Finding, role: Role, key: string): void {
  const steps = Array.isArray(lead.evidence.steps) ? (lead.evidence.steps as unknown[]) : [];
  lead.evidence = {
    ...lead.evidence,
    steps: [...steps, { role, link: key, capture: step.capture, title: step.title, ...(step.impact ? { impact: step.impact } : {}), evidence: step.evidence }],
  };
  const body = sentence(lead.title).replace(/; next: .*$/, '');
  const next = /; next: (.*)$/.exec(sentence(lead.title))?.[1] ?? /; next: (.*)$/.exec(sentence(step.title))?.[1];
  const stepText = sentence(step.title).replace(/; next: .*$/, '');
  lead.title = `${body}. ${ROLE_LABEL[role]}: ${stepText}${next ? `; next: ${next}` : ''}.`;
  const a = impactOf(lead);
  const b = impactOf(step);
  if (role === 'repeat') {
    // The same events, seen again: told, and nothing added.
  } else if (role === 'cause') {
    // The symptom leads: the time it lost is what its cause cost, counted once.
    lead.severity = worse(lead.severity, step.severity);
    if (b && (!a || b.value > a.value)) lead.impact = { ...b, bears: [...new Set([...(a?.bears ?? []), ...b.bears])] };
    else if (a && b) lead.impact = { ...a, bears: [...new Set([...a.bears, ...b.bears])] };
    // Its cause's own causes are the symptom's now: the chain goes on (pushed in place: chains() is walking this list).
    const shows = lead.links?.shows;
    for (const k of step.links?.shows ?? []) if (shows && !shows.includes(k)) shows.push(k);
  } else if (role === 'cost') {
    // Its own cost, seen by another capture: the two add up, and what that cost explained, it now explains.
    lead.severity = worse(lead.severity, step.severity);
    if (a && b && a.unit === b.unit)
      lead.impact = { ...a, value: round(a.value + b.value), basis: `${a.basis}; and ${b.basis}`, bears: [...new Set([...a.bears, ...b.bears])] };
    else if (b && !a) lead.impact = b;
    const explains = [...new Set([...(lead.links?.explains ?? []), ...(step.links?.explains ?? [])])];
    if (explains.length) lead.links = { ...lead.links, explains };
  } else {
    // A process leads: its own cost is its impact (others' waits may have more causes); an effect makes it a warning at least.
    // A cause with no cost of its own measured (a failing call) is as grave as what it did.
    const effect = step.severity === 'info' ? 'info' : a ? 'warning' : step.severity;
    lead.severity = worse(lead.severity, effect);
    if (!a && !b) lead.score = Math.max(lead.score, step.score); // and ranks as high (an impact, when there is one, scores it)
    if (a && b) lead.impact = { ...a, bears: [...new Set([...a.bears, ...b.bears])] };
    else if (b) lead.impact = b;
    // What its effect explained, it explains (a full accept queue's refused SYNs, through the failing accept behind it).
    const explains = [...new Set([...(lead.links?.explains ?? []), ...(step.links?.explains ?? [])])];
    if (explains.length) lead.links = { ...lead.links, explains };
  }
  if (lead.links?.onlyAsCause) lead.links = { ...lead.links, onlyAsCause: false };
}

function sameCause(list: Finding[]): Finding[] {
  const groups = new Map<string, Finding[]>();
  const out: Finding[] = [];
  for (const f of list) {
    if (!f.cause?.key) {
      out.push(f);
      continue;
    }
    const group = groups.get(f.cause.key);
    if (group) group.push(f);
    else {
      groups.set(f.cause.key, [f]);
      out.push(f); // holds the group's place
    }
  }
  return out.map((f) => {
    const group = f.cause?.key ? groups.get(f.cause.key)! : [f];
    return group.length > 1 ? merge(group) : f;
  });
}

const stepsOf = (f: Finding): { role?: unknown; title?: unknown }[] =>
  Array.isArray(f.evidence.steps) ? (f.evidence.steps as { role?: unknown; title?: unknown }[]) : [];

function merge(group: Finding[]): Finding {
  const sorted = [...group].sort((a, b) => impactValue(b) - impactValue(a));
  const lead = sorted[0]!;
  const others = sorted.slice(1);
  const impacts = sorted.map(impactOf).filter((i): i is Impact => !!i);
  const total = impacts.reduce((n, i) => n + i.value, 0);
  const subjects = sorted.map((f) => ({ subject: f.cause!.subject, id: f.id, title: f.title, ...(f.impact ? { impact: f.impact.value } : {}) }));
  const shown = others.slice(0, 3).map((f) => f.cause!.subject);
  const more = others.length > shown.length ? ` and ${others.length - shown.length} more` : '';
  // What the others were linked to (their effects, their causes) stays: the lead's steps, then theirs not already told.
  const steps = [...stepsOf(lead)];
  for (const f of others) for (const step of stepsOf(f)) if (!steps.some((t) => t.title === step.title)) steps.push(step);
  const added = steps.slice(stepsOf(lead).length).map((t) => `${ROLE_LABEL[t.role as keyof typeof ROLE_LABEL] ?? 'Effect'}: ${sentence(String(t.title))}`);
  const body = [sentence(lead.title).replace(/; next: .*$/, ''), ...added].join('. ');
  const next = /; next: (.*)$/.exec(sentence(lead.title))?.[1];
  return {
    ...lead,
    ...(group.some((f) => f.links) ? { links: unionLinks(group) } : {}),
    title: `${body}. The same on ${others.length} more (${shown.join(', ')}${more})${impacts.length ? `, ${total.toFixed(2)} ${impacts[0]!.unit} in all` : ''}${next ? `; next: ${next}` : ''}.`,
    severity: sorted.map((f) => f.severity).reduce(worse),
    evidence: {
      ...lead.evidence,
      ...(steps.length ? { steps } : {}),
      sameCause: { key: lead.cause!.key, count: sorted.length, subjects: subjects.slice(0, MAX_SUBJECTS) },
    },
    ...(impacts.length ? { impact: { ...impacts[0]!, value: round(total), basis: `${sorted.length} alike: ${impacts[0]!.basis}, and the others` } } : {}),
  };
}

/** The group's links as one: what any of them shows or explains; only as a cause if each was. */
function unionLinks(group: Finding[]): Links {
  const all = (pick: (l: Links) => string[] | undefined) => [...new Set(group.flatMap((f) => (f.links ? (pick(f.links) ?? []) : [])))];
  const [shows, explains, costs] = [all((l) => l.shows), all((l) => l.explains), all((l) => l.costs)];
  const costsAtMost = group.map((f) => f.links?.costsAtMost).filter((n): n is number => n !== undefined);
  return {
    ...(shows.length ? { shows } : {}),
    ...(explains.length ? { explains } : {}),
    ...(costs.length ? { costs } : {}),
    ...(costsAtMost.length ? { costsAtMost: round(costsAtMost.reduce((a, b) => a + b, 0)) } : {}),
    ...(group.every((f) => f.links?.onlyAsCause) ? { onlyAsCause: true } : {}),
    ...(group.some((f) => f.links?.leads) ? { leads: true } : {}),
  };
}
