// execsnoop's checks: Exec storms per parent, failing execs, short-lived processes exiting with an error,
// and the commands a server runs, when they ran much of the window and its answers were slow (a cause only).
import {
  addTo,
  BoundedGroups,
  eventsOf,
  makeFinding,
  MAX_EVENT_GROUPS,
  num,
  str,
  timeImpact,
  topKeys,
  unionLength,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
import { fmtMs, fmtSeconds, fmtRate, listText, plural, processLabel } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';
import type { ExecHit } from '../../analysis/rule-events.js';

const MAX_FINDINGS_EACH = 5;
/** What a fork + exec costs the caller and the kernel, for processes whose lifetime is not known (still running). */
const EXEC_COST_S = 0.001;
/** The most CPU a parent can plausibly spend per process it starts (forking a large process copies its page tables): more is its own work. */
const MAX_PARENT_CPU_PER_EXEC_S = 0.005;

/** Time one exec's process took: its lifetime where it ended in the window, else the cost of the exec. */
const processSeconds = (e: Obj, window: number): number => (e.lifetimeMs !== undefined ? Math.min(num(e.lifetimeMs) / 1000, window) : EXEC_COST_S);

/** Distinct names counted per group (programs, callers, exit codes); the rest go under "other". */
const MAX_NAMES = 100;
const countName = (map: Map<string, number>, key: string) => addTo(map, map.has(key) || map.size < MAX_NAMES ? key : 'other', 1);

/** Commands of one parent that ran this share of the window, and at least this many, may be what its requests wait for. */
const CHILDREN_SHARE = 0.25;
const MIN_CHILDREN = 5;
/** Lifetimes kept per parent for that. */
const MAX_SPANS = 10_000;

interface Group {
  /** When each process it started ran (epoch ms), of those that ended in the window. */
  spans: [number, number][];
  n: number;
  seconds: number;
  examples: Obj[];
  names: Map<string, number>;
  more: Map<string, number>;
  /** A parent's children's command lines. */
  commands: Map<string, number>;
  longest: number;
  pcomm: string;
  /** Exits: the parents that started them. */
  ppids: Set<number>;
}
const newGroup = (): Group => ({
  spans: [],
  n: 0,
  seconds: 0,
  examples: [],
  names: new Map(),
  more: new Map(),
  commands: new Map(),
  longest: 0,
  pcomm: '',
  ppids: new Set(),
});
function add(g: Group, e: Obj, window: number): void {
  g.n++;
  const start = Date.parse(str(e.time));
  if (e.lifetimeMs !== undefined && num(e.retval) >= 0 && Number.isFinite(start) && g.spans.length < MAX_SPANS)
    g.spans.push([start, start + num(e.lifetimeMs)]);
  g.seconds += processSeconds(e, window);
  if (g.examples.length < 5) g.examples.push(eventRow(e));
}

/** What ran: argv[0]'s file, else the comm. */
const programOf = (e: Obj) => str(e.filename) || str((Array.isArray(e.argv) ? e.argv[0] : '') as unknown) || str(e.comm) || '?';
const commandLine = (e: Obj, max = 160) => {
  const argv = Array.isArray(e.argv) ? e.argv.map(str).join(' ') : '';
  const text = argv || programOf(e);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
};
const eventRow = (e: Obj) => ({
  time: str(e.time),
  pid: num(e.pid),
  ppid: num(e.ppid),
  comm: str(e.comm),
  pcomm: str(e.pcomm),
  command: commandLine(e),
  ...(num(e.retval) < 0 ? { error: str(e.error) || String(num(e.retval)) } : {}),
  ...(e.exitCode !== undefined ? { exitCode: num(e.exitCode) } : {}),
  ...(num(e.exitSignal) ? { exitSignal: num(e.exitSignal) } : {}),
  ...(e.lifetimeMs !== undefined ? { lifetimeMs: num(e.lifetimeMs) } : {}),
});

function analyzeExecsnoop(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const window = Math.max(0.001, ctx.windowSeconds);
  const t = ctx.thresholds;

  // One streaming pass (the events may be spooled on disk): storms per parent
  // (its pid and the name it had when it forked), failed execs per program and
  // error, processes ending with an error per program.
  const parents = new BoundedGroups(newGroup);
  const failedExecs = new BoundedGroups(newGroup);
  const exits = new BoundedGroups(newGroup);
  let total = 0;
  let failed = 0;
  for (const e of eventsOf(data)) {
    total++;
    const p = parents.get(String(num(e.ppid)));
    if (p) {
      if (!p.n) p.pcomm = str(e.pcomm);
      add(p, e, window);
      countName(p.names, str(e.comm) || programOf(e));
      countName(p.commands, commandLine(e, 80));
    }
    if (num(e.retval) < 0) {
      failed++;
      const f = failedExecs.get(`${programOf(e)}\0${str(e.error) || num(e.retval)}`);
      if (f) {
        add(f, e, window);
        countName(f.names, processLabel(str(e.pcomm) || str(e.comm), e.ppid));
      }
      continue;
    }
    if (e.lifetimeMs === undefined || (num(e.exitCode) === 0 && !num(e.exitSignal))) continue;
    const x = exits.get(programOf(e));
    if (!x) continue;
    add(x, e, window);
    countName(x.names, num(e.exitSignal) ? `signal ${num(e.exitSignal)}` : `code ${num(e.exitCode)}`);
    countName(x.more, processLabel(e.pcomm, e.ppid));
    if (num(e.ppid) > 1 && x.ppids.size < MAX_NAMES) x.ppids.add(num(e.ppid));
    x.longest = Math.max(x.longest, num(e.lifetimeMs));
  }

  const storms: Finding[] = [];
  for (const [key, p] of parents.map) {
    const ppid = Number(key);
    const rate = p.n / window;
    if (rate < t.execsPerSecondPerParent) continue;
    const who = processLabel(p.pcomm, ppid);
    const title =
      `${who} started ${plural(p.n, 'process', 'processes')} in ${fmtSeconds(window)} (${fmtRate(rate)}, threshold ${fmtRate(t.execsPerSecondPerParent)}), ` +
      `mostly ${listText(topKeys(p.names, 3))}: an exec storm costs CPU and fork/exec latency; next: what ${p.pcomm || 'it'} loops over (its execsnoop.ndjson rows with ppid ${ppid}).`;
    const spent = p.seconds;
    const impact = timeImpact(spent, window, `${fmtRate(rate)}; the processes it started ran ${spent.toFixed(2)} s in all over ${fmtSeconds(window)}`, [
      'cpu',
      'latency',
    ]);
    storms.push({
      ...makeFinding(
        ctx,
        `storm:${ppid}`,
        impact.value >= 0.5 ? 'critical' : 'warning',
        title,
        {
          ppid,
          pcomm: p.pcomm,
          execs: p.n,
          perSecond: Math.round(rate * 100) / 100,
          threshold: t.execsPerSecondPerParent,
          programs: Object.fromEntries([...p.names].sort((a, b) => b[1] - a[1]).slice(0, 10)),
          examples: p.examples,
        },
        rate / Math.max(0.001, t.execsPerSecondPerParent),
        impact,
      ),
      cause: { key: `exec storm from ${p.pcomm || '?'}`, subject: `pid ${ppid} ${fmtRate(rate)}` },
      // A program restarted again and again (signals: its exit loop) explains the storm of its starts;
      // the parent's own time on CPU (the profile's finding on it) is mostly forking them, up to a
      // plausible cost per process: part of the storm's cost. It names its parent, so it leads.
      links: {
        shows: topKeys(p.names, 3).map((program) => `restarts:${program}`),
        costs: [`cpu-of:${ppid}`],
        costsAtMost: (p.n * MAX_PARENT_CPU_PER_EXEC_S) / window,
        leads: true,
      },
    });
  }

  // Execs that failed (ENOENT, EACCES, ...), per program and error.
  const failures: Finding[] = [];
  for (const [key, f] of failedExecs.map) {
    if (f.n < t.failedExecs) continue;
    const [program, error] = key.split('\0') as [string, string];
    const title = `${plural(f.n, 'exec')} of ${program} failed with ${error} in ${fmtSeconds(window)} (threshold ${t.failedExecs}), from ${listText(topKeys(f.names, 3))}.`;
    failures.push(
      makeFinding(
        ctx,
        `failed-exec:${program}:${error}`,
        'warning',
        title,
        { program, error, count: f.n, threshold: t.failedExecs, examples: f.examples },
        f.n / Math.max(1, t.failedExecs),
        timeImpact(f.n * EXEC_COST_S, window, `${plural(f.n, 'failed exec')} of ~${EXEC_COST_S * 1000} ms each`, ['health']),
      ),
    );
  }

  // Processes that ended inside the window with an error code or a signal, per program.
  for (const [program, x] of exits.map) {
    if (x.n < t.failedExecs) continue;
    const title =
      `${program} exited with ${listText(topKeys(x.names, 3))} ${plural(x.n, 'time')} in ${fmtSeconds(window)} (threshold ${t.failedExecs}), ` +
      `each after ${fmtMs(x.longest)} or less, started by ${listText(topKeys(x.more, 2))}.`;
    failures.push(
      makeFinding(
        ctx,
        `failing:${program}`,
        'warning',
        title,
        {
          program,
          count: x.n,
          exits: Object.fromEntries(x.names),
          longestLifetimeMs: x.longest,
          threshold: t.failedExecs,
          examples: x.examples,
        },
        x.n / Math.max(1, t.failedExecs),
        timeImpact(x.seconds, window, `${plural(x.n, 'process', 'processes')} that failed ran ${x.seconds.toFixed(2)} s in all`, ['health']),
      ),
    );
    // The same exits signals counts as a restart loop (under the name the program gave itself), when it found one.
    failures.at(-1)!.links = { repeats: [...x.ppids].map((ppid) => `exit-loop-parent:${ppid}`) };
  }

  const waitedOn = [...parents.map].flatMap(([key, p]) => childrenFinding(Number(key), p, window, ctx) ?? []);

  const capped = parents.overflow + failedExecs.overflow + exits.overflow;
  const byScore = (a: Finding, b: Finding) => b.score - a.score;
  return {
    findings: [
      ...storms.sort(byScore).slice(0, MAX_FINDINGS_EACH),
      ...failures.sort(byScore).slice(0, MAX_FINDINGS_EACH),
      ...waitedOn.sort(byScore).slice(0, MAX_FINDINGS_EACH),
    ],
    checked:
      `execs (${plural(total, 'exec')}, ${failed} failed)` +
      (capped ? `; ${plural(capped, 'exec')} past ${MAX_EVENT_GROUPS} distinct parents or programs were counted but not grouped` : ''),
  };
}

/**
 * A process that had commands of its own running much of the window: when it
 * is a server whose answers were slow (tcpresponse: `service-pid`), its
 * requests wait for them (execSync, subprocess.run, PHP's exec): the cause,
 * shown only as such (a shell script runs commands all the time).
 */
function childrenFinding(ppid: number, p: Group, window: number, ctx: AnalysisContext): Finding | undefined {
  if (p.spans.length < MIN_CHILDREN) return undefined;
  const spans = [...p.spans].sort((a, b) => a[0] - b[0]);
  const ranMs = unionLength(spans);
  // Started while an earlier one still ran: those ran side by side.
  let [reach, overlapped] = [-Infinity, 0];
  for (const [from, to] of spans) {
    if (from < reach) overlapped++;
    reach = Math.max(reach, to);
  }
  const share = ranMs / 1000 / window;
  if (share < CHILDREN_SHARE) return undefined;
  const lifetimes = spans.map(([from, to]) => to - from).sort((a, b) => a - b);
  const typical = lifetimes[Math.floor(lifetimes.length / 2)]!;
  const who = processLabel(p.pcomm, ppid);
  const oneAtATime = overlapped <= spans.length * 0.1;
  const title =
    `${who} had a command of its own running ${Math.round(share * 100)}% of the ${fmtSeconds(window)} window: ${plural(spans.length, 'process', 'processes')} it started ended in it ` +
    `(~${fmtMs(typical)} each${oneAtATime ? ', one at a time' : ''}), mostly ${listText(topKeys(p.commands, 2))}: a request that runs a command and waits for it ` +
    `(execSync and spawnSync${p.pcomm === 'node' ? ", which hold node's whole event loop" : ''}, subprocess.run, PHP's exec) takes that long at least; ` +
    `next: run it without waiting, cache its output, or do its work in-process.`;
  return {
    ...makeFinding(
      ctx,
      `children:${ppid}`,
      'warning',
      title,
      { ppid, pcomm: p.pcomm, commands: spans.length, ranMs: Math.round(ranMs), typicalMs: typical, oneAtATime, examples: p.examples },
      share / CHILDREN_SHARE,
      timeImpact(ranMs / 1000, window, `its commands ran ${fmtSeconds(ranMs / 1000)} of the window, overlapping ones counted once`, ['latency']),
    ),
    links: { explains: [`service-pid:${ppid}`], onlyAsCause: true, leads: true },
  };
}

export function* execRecords(data: Obj): Generator<ExecHit> {
  for (const e of eventsOf(data))
    yield {
      kind: 'exec',
      time: str(e.time),
      pid: num(e.pid),
      ppid: num(e.ppid),
      uid: num(e.uid),
      comm: str(e.comm),
      parentComm: str(e.pcomm),
      filename: str(e.filename),
      args: Array.isArray(e.argv) ? e.argv.map(str).join(' ') : '',
      ...(num(e.retval) < 0 ? { error: str(e.error) || String(num(e.retval)) } : {}),
    };
}

export const execsnoopAnalysis = { checks: 'execs', analyze: analyzeExecsnoop };
