// execsnoop's checks: Exec storms per parent, failing execs, short-lived processes exiting with an error.
import { addTo, makeFinding, num, objs, str, timeImpact, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtMs, fmtSeconds, fmtRate, listText, plural, processLabel } from '../../format/index.js';
import type { Finding } from '../../analysis/types.js';
import type { ExecHit } from '../../analysis/rules.js';

const MAX_FINDINGS_EACH = 5;
/** What a fork + exec costs the caller and the kernel, for processes whose lifetime is not known (still running). */
const EXEC_COST_S = 0.001;

/** Time the processes of these execs took: their lifetimes where they ended in the window, else the cost of the exec. */
function processSeconds(events: Obj[], window: number): number {
  return events.reduce((n, e) => n + (e.lifetimeMs !== undefined ? Math.min(num(e.lifetimeMs) / 1000, window) : EXEC_COST_S), 0);
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
  const events = objs(data.events);
  const window = Math.max(0.001, ctx.windowSeconds);
  const t = ctx.thresholds;

  // Storms: execs per parent (its pid and the name it had when it forked).
  const parents = new Map<number, { ppid: number; pcomm: string; events: Obj[]; programs: Map<string, number> }>();
  for (const e of events) {
    const ppid = num(e.ppid);
    let p = parents.get(ppid);
    if (!p) parents.set(ppid, (p = { ppid, pcomm: str(e.pcomm), events: [], programs: new Map() }));
    p.events.push(e);
    addTo(p.programs, str(e.comm) || programOf(e), 1);
  }
  const storms: Finding[] = [];
  for (const p of parents.values()) {
    const rate = p.events.length / window;
    if (rate < t.execsPerSecondPerParent) continue;
    const who = processLabel(p.pcomm, p.ppid);
    const title =
      `${who} started ${plural(p.events.length, 'process', 'processes')} in ${fmtSeconds(window)} (${fmtRate(rate)}, threshold ${fmtRate(t.execsPerSecondPerParent)}), ` +
      `mostly ${listText(topKeys(p.programs, 3))}: an exec storm costs CPU and fork/exec latency; next: what ${p.pcomm || 'it'} loops over (its execsnoop.ndjson rows with ppid ${p.ppid}).`;
    const spent = processSeconds(p.events, window);
    const impact = timeImpact(spent, window, `${fmtRate(rate)}; the processes it started ran ${spent.toFixed(2)} s in all over ${fmtSeconds(window)}`, [
      'cpu',
      'latency',
    ]);
    storms.push({
      ...makeFinding(
        ctx,
        `storm:${p.ppid}`,
        impact.value >= 0.5 ? 'critical' : 'warning',
        title,
        {
          ppid: p.ppid,
          pcomm: p.pcomm,
          execs: p.events.length,
          perSecond: Math.round(rate * 100) / 100,
          threshold: t.execsPerSecondPerParent,
          programs: Object.fromEntries([...p.programs].sort((a, b) => b[1] - a[1]).slice(0, 10)),
          examples: p.events.slice(0, 5).map(eventRow),
        },
        rate / Math.max(0.001, t.execsPerSecondPerParent),
        impact,
      ),
      cause: { key: `exec storm from ${p.pcomm || '?'}`, subject: `pid ${p.ppid} ${fmtRate(rate)}` },
      // A program restarted again and again (signals: its exit loop) explains the storm of its starts.
      links: { shows: topKeys(p.programs, 3).map((program) => `restarts:${program}`) },
    });
  }

  // Execs that failed (ENOENT, EACCES, ...), per program and error.
  const failedExecs = new Map<string, Obj[]>();
  for (const e of events) {
    if (num(e.retval) >= 0) continue;
    const key = `${programOf(e)}\0${str(e.error) || num(e.retval)}`;
    failedExecs.set(key, [...(failedExecs.get(key) ?? []), e]);
  }
  const failures: Finding[] = [];
  for (const [key, list] of failedExecs) {
    if (list.length < t.failedExecs) continue;
    const [program, error] = key.split('\0') as [string, string];
    const callers = new Map<string, number>();
    for (const e of list) addTo(callers, processLabel(str(e.pcomm) || str(e.comm), e.ppid), 1);
    const title = `${plural(list.length, 'exec')} of ${program} failed with ${error} in ${fmtSeconds(window)} (threshold ${t.failedExecs}), from ${listText(topKeys(callers, 3))}.`;
    failures.push(
      makeFinding(
        ctx,
        `failed-exec:${program}:${error}`,
        'warning',
        title,
        {
          program,
          error,
          count: list.length,
          threshold: t.failedExecs,
          examples: list.slice(0, 5).map(eventRow),
        },
        list.length / Math.max(1, t.failedExecs),
        timeImpact(list.length * EXEC_COST_S, window, `${plural(list.length, 'failed exec')} of ~${EXEC_COST_S * 1000} ms each`, ['health']),
      ),
    );
  }

  // Processes that ended inside the window with an error code or a signal, per program.
  const exits = new Map<string, Obj[]>();
  for (const e of events) {
    if (num(e.retval) < 0 || e.lifetimeMs === undefined) continue;
    if (num(e.exitCode) === 0 && !num(e.exitSignal)) continue;
    const key = programOf(e);
    exits.set(key, [...(exits.get(key) ?? []), e]);
  }
  for (const [program, list] of exits) {
    if (list.length < t.failedExecs) continue;
    const codes = new Map<string, number>();
    const parentsOf = new Map<string, number>();
    for (const e of list) {
      addTo(codes, num(e.exitSignal) ? `signal ${num(e.exitSignal)}` : `code ${num(e.exitCode)}`, 1);
      addTo(parentsOf, processLabel(e.pcomm, e.ppid), 1);
    }
    const longest = Math.max(...list.map((e) => num(e.lifetimeMs)));
    const title =
      `${program} exited with ${listText(topKeys(codes, 3))} ${plural(list.length, 'time')} in ${fmtSeconds(window)} (threshold ${t.failedExecs}), ` +
      `each after ${fmtMs(longest)} or less, started by ${listText(topKeys(parentsOf, 2))}.`;
    failures.push(
      makeFinding(
        ctx,
        `failing:${program}`,
        'warning',
        title,
        {
          program,
          count: list.length,
          exits: Object.fromEntries(codes),
          longestLifetimeMs: longest,
          threshold: t.failedExecs,
          examples: list.slice(0, 5).map(eventRow),
        },
        list.length / Math.max(1, t.failedExecs),
        timeImpact(
          processSeconds(list, window),
          window,
          `${plural(list.length, 'process', 'processes')} that failed ran ${processSeconds(list, window).toFixed(2)} s in all`,
          ['health'],
        ),
      ),
    );
  }

  const byScore = (a: Finding, b: Finding) => b.score - a.score;
  return {
    findings: [...storms.sort(byScore).slice(0, MAX_FINDINGS_EACH), ...failures.sort(byScore).slice(0, MAX_FINDINGS_EACH)],
    checked: `execs (${plural(events.length, 'exec')}, ${events.filter((e) => num(e.retval) < 0).length} failed)`,
  };
}

export function execRecords(data: Obj): ExecHit[] {
  return objs(data.events).map((e) => ({
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
  }));
}

export const execsnoopAnalysis = { checks: 'execs', analyze: analyzeExecsnoop };
