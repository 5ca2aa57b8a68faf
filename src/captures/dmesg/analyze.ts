// dmesg's check: one finding per kind of kernel message and what it is about
// (a program's crashes, a disk's errors, a full table), saying when, what it
// means for the services and what to do. A message logged in the window is
// as grave as its entry says; one logged only before it is a step less (it
// may be over; a crash or an OOM kill, whose process is gone, is info), and
// ranks under what was measured. Links: a crash explains the crash loop
// signals sees, an OOM kill is oomkill's (which leads), a full conntrack
// table is the drops tcpdrop counts, a disk's errors explain waits on it.
import { isObj, makeFinding, num, objs, str, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding, Links, Severity } from '../../analysis/types.js';
import { fmtSeconds, plural } from '../../format/index.js';
import { KNOWN_MESSAGES, type Fields, type KnownMessage } from './known-messages.js';

/** Kills of one program from which they are critical (one OOM kill is a warning). */
const CRITICAL_OOM_KILLS = 3;
const LOWER: Record<Severity, Severity> = { critical: 'warning', warning: 'info', info: 'info' };
/** Kinds about a process that ended: logged only before the window, they are context (info). */
const PAST_PROCESSES = new Set(['crash', 'oom-kill']);
/** Frames of a call trace named in a title. */
const TITLE_FRAMES = 4;
/** Frames that only say the task slept (a lock's slow path stays: it says what the task waited for). */
const SCHEDULER_FRAME = /^(?:__schedule|schedule\w*|io_schedule\w*|__switch_to\w*|preempt_schedule\w*|context_switch|bit_wait\w*|__wait_on\w*)$/;

interface Group {
  known: KnownMessage;
  kind: string;
  subject: string;
  events: Obj[];
}

export function analyzeDmesg(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const events = objs(data.events);
  const groups = new Map<string, Group>();
  for (const e of events) {
    const key = `${str(e.kind)}\0${str(e.subject)}`;
    const known = knownOf(e);
    if (!known) continue;
    const group = groups.get(key) ?? { known, kind: str(e.kind), subject: str(e.subject), events: [] };
    group.events.push(e);
    groups.set(key, group);
  }
  const windowStartMs = Date.parse(str(data.windowStart)) || Date.now() - ctx.windowSeconds * 1000;
  const heldBack = isObj(data.suppressed) ? num(data.suppressed.show_signal_msg) : 0;
  const findings = [...groups.values()].map((g) => groupFinding(g, windowStartMs, ctx, g.kind === 'crash' ? heldBack : 0));
  const unknown = objs(data.unknown).filter((u) => u.inWindow === true);
  if (unknown.length) findings.push(unknownFinding(unknown, ctx));
  const kinds = [...new Set(events.map((e) => str(e.kind)))];
  return {
    findings,
    checked: `kernel log (${plural(num(data.records), 'record')} from ${fmtSeconds(num(data.lookbackSeconds))} before the window${
      kinds.length ? `; ${kinds.join(', ')}` : '; nothing Sherlock knows'
    }${str(data.problem) ? `; ${str(data.problem)}` : ''})`,
  };
}

/** The entry that matches the event's text (several entries share a kind). */
const knownOf = (e: Obj): KnownMessage | undefined =>
  KNOWN_MESSAGES.find((m) => m.kind === str(e.kind) && m.match.test(str(e.text))) ?? KNOWN_MESSAGES.find((m) => m.kind === str(e.kind));

const fieldsOf = (e: Obj): Fields => (e.fields && typeof e.fields === 'object' ? (e.fields as Fields) : {});

function groupFinding(g: Group, windowStartMs: number, ctx: AnalysisContext, heldBack: number): Finding {
  const n = g.events.length;
  const inWindow = g.events.filter((e) => e.inWindow === true).length;
  const first = g.events[0]!;
  const last = g.events.at(-1)!;
  const fields = fieldsOf(last);
  const grave =
    (g.kind === 'crash' && n >= ctx.thresholds.crashLoopExits) || (g.kind === 'oom-kill' && n >= CRITICAL_OOM_KILLS) ? 'critical' : g.known.severity;
  // Crashed or killed processes of before the window are gone: a program still crashing is seen in it (signals), which this joins.
  const severity = inWindow ? grave : PAST_PROCESSES.has(g.kind) ? 'info' : LOWER[grave];
  const site = g.kind === 'crash' ? crashSiteText(g.events) : undefined;
  const stack = Array.isArray(last.stack) ? last.stack.map(String) : [];
  const waitedIn = stack.filter((f) => !SCHEDULER_FRAME.test(f)).slice(0, TITLE_FRAMES);
  const next = site?.function ? `fix ${site.function}${site.source ? ` (${site.source})` : ''} or roll back the release that brought it` : g.known.next;
  const title =
    `Kernel log (${whenText(g.events, n, inWindow, windowStartMs, ctx.windowSeconds)}${heldBack ? `; its rate limit held back ${plural(heldBack, 'more crash line')}, of any program` : ''}): ` +
    `${g.known.what(fields)}${site ? ` ${site.text}` : ''}` +
    `${waitedIn.length ? ` (in ${waitedIn.join(' ← ')})` : ''}: ${g.known.means}; next: ${next}.`;
  const pid = Number(fields.pid);
  const finding = makeFinding(
    ctx,
    `${g.kind}:${g.subject}`,
    severity,
    title,
    {
      kind: g.kind,
      subject: g.subject,
      count: n,
      inWindow,
      firstTime: str(first.time),
      lastTime: str(last.time),
      ...(pid > 0 ? { pid, comm: fields.comm ?? '' } : {}),
      fields,
      ...(stack.length ? { stack } : {}),
      ...(site?.site ? { site: site.site } : {}),
      examples: [str(first.text), ...(n > 1 ? [str(last.text)] : [])],
    },
    // Under what was measured in the window (s/s impacts, counted events), unless it was logged in the window too.
    inWindow ? 10 * inWindow : 0.001 * n,
  );
  const links = linksOf(g, fields);
  return links ? { ...finding, links } : finding;
}

function linksOf(g: Group, fields: Fields): Links | undefined {
  switch (g.kind) {
    case 'crash':
      return { explains: [`crash:${fields.comm}`] }; // signals' ends of that program by a fault signal
    case 'oom-kill':
      return { shows: [`oom-kill:${fields.comm}`] }; // oomkill's kill of it, with its memory and limit, leads
    case 'conntrack-full':
      return { shows: ['conntrack-full'] }; // tcpdrop's drops at the full table
    case 'disk-error':
      return { explains: ['disk-busy', `disk-busy:${g.subject}`] }; // waits on that disk
    default:
      return undefined;
  }
}

/** "3 times in the 30 s window", "12 times since 10:41:07 UTC, 3 in the window", "once, 4 min before the capture". */
function whenText(events: Obj[], n: number, inWindow: number, windowStartMs: number, windowS: number): string {
  const times = n === 1 ? 'once' : `${n} times`;
  if (inWindow === n) return `${times} in the ${fmtSeconds(windowS)} window`;
  if (inWindow) return `${times} since ${str(events[0]!.time).slice(11, 19)} UTC, ${inWindow} in the window`;
  const ago = (e: Obj) => fmtSeconds(Math.max(0, (windowStartMs - Date.parse(str(e.time))) / 1000));
  const [from, to] = [ago(events[0]!), ago(events.at(-1)!)];
  return `${times}, ${from === to ? from : `from ${from} to ${to}`} before the capture`;
}

interface SiteText {
  text: string;
  function?: string;
  source?: string;
  site?: Obj;
}

/** The fault and where it was, for the site most of the crashes share: "reading address 0x0 (a null pointer) in parse_header (parser.c:31, order-parser+0x1445)". */
function crashSiteText(events: Obj[]): SiteText {
  const bySite = new Map<string, Obj[]>();
  for (const e of events) {
    const f = fieldsOf(e);
    const key = `${f.file ?? ''}+${f.offset ?? f.ip ?? ''}`;
    bySite.set(key, [...(bySite.get(key) ?? []), e]);
  }
  const [common] = [...bySite.values()].sort((a, b) => b.length - a.length);
  const e = common!.at(-1)!;
  const f = fieldsOf(e);
  const site = e.site && typeof e.site === 'object' ? (e.site as Obj) : undefined;
  const where = f.file ? `${f.file}${f.offset ? `+0x${f.offset}` : ''}` : `ip 0x${f.ip}`;
  const fault = faultText(f);
  const fn = str(site?.function);
  const inlined = Array.isArray(site?.inlinedInto) ? site.inlinedInto.map(String) : [];
  const source = str(site?.source);
  const place = fn
    ? `in ${fn}${inlined.length ? ` (inlined into ${inlined.join(' ← ')})` : ''} (${[source, where].filter(Boolean).join(', ')})`
    : `at ${where}${f.file && f.offset ? (site?.path ? ' (no symbol covers it)' : ` (${f.file} was not found on this host to name the function: addr2line -f -e <its path> 0x${f.offset})`) : ''}`;
  const others = events.length - common!.length;
  return {
    text: `${fault ? `${fault} ` : ''}${place}${others ? ` (${plural(others, 'crash', 'crashes')} elsewhere)` : ''}`,
    ...(fn ? { function: fn } : {}),
    ...(source ? { source } : {}),
    ...(site ? { site } : {}),
  };
}

/** x86 page fault error bits: 2 a write, 0x10 an instruction fetch; an address in the first page is a null pointer's. */
function faultText(f: Fields): string {
  if (!f.address || !f.error) return '';
  const error = parseInt(f.error, 16);
  const access = error & 0x10 ? 'executing' : error & 2 ? 'writing' : 'reading';
  const address = BigInt(`0x${f.address}`);
  return `${access} address 0x${f.address}${address < 0x1000n ? ' (a null pointer)' : ''}`;
}

function unknownFinding(unknown: Obj[], ctx: AnalysisContext): Finding {
  const n = unknown.reduce((s, u) => s + num(u.count), 0);
  const top = unknown[0]!;
  return makeFinding(
    ctx,
    'unknown-errors',
    'info',
    `The kernel logged ${plural(n, 'error message')} in the window that Sherlock has no entry for, most often "${str(top.text).slice(0, 160)}" (${num(top.count)}×): read them with dmesg -T -l err,crit,alert,emerg.`,
    { count: n, messages: unknown.slice(0, 10) },
    0.001 * n,
  );
}
