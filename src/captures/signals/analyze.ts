// signals' checks, one finding per cause: a process killing another (sender,
// signal, target), a program ending by a fault signal (a crash, or a crash
// loop when it repeats), a program exiting with the same non-zero code again
// and again (a restart loop). A kill and the end it caused are one finding.
import { addTo, makeFinding, num, objs, str, topKeys, type CaptureAnalysis, type AnalysisContext, type Obj } from '../../analysis/common.js';
import { fmtMs, fmtRate, fmtSeconds, listText, plural, processLabel } from '../../analysis/format.js';
import type { Finding, Severity } from '../../analysis/types.js';

/** Signals a fault raises in the process itself: its end by one is a crash. */
export const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGSYS', 'SIGTRAP']);
/** Signals that ask a process to stop: sent by supervisors and people every day. */
const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGPIPE']);

interface Group {
  events: Obj[];
  pids: Set<number>;
}

function groupBy(events: Obj[], key: (e: Obj) => string | undefined): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const e of events) {
    const k = key(e);
    if (k === undefined) continue;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { events: [], pids: new Set() }));
    g.events.push(e);
    g.pids.add(num(e.pid));
  }
  return groups;
}

const pidList = (pids: Iterable<number>) => {
  const list = [...pids];
  return `pid${list.length > 1 ? 's' : ''} ${listText(list.map(String), 4)}`;
};

function impact(n: number, ctx: AnalysisContext) {
  const window = Math.max(ctx.windowSeconds, 1e-3);
  return { events: n, perSecond: n / window, perMinute: (n * 60) / window, windowSeconds: ctx.windowSeconds };
}

function analyzeSignals(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const events = objs(data.events);
  const signals = events.filter((e) => e.kind === 'signal');
  const exits = events.filter((e) => e.kind === 'exit');
  const findings: Finding[] = [];
  const times = (n: number) => (n === 1 ? 'once' : `${n} times`);
  const inWindow = `in ${fmtSeconds(ctx.windowSeconds)} on ${ctx.node}`;

  // Who ended by which signal: a kill's sentence says whether its target died of it.
  const endSignal = new Map<number, string>(exits.filter((e) => str(e.signal)).map((e) => [num(e.pid), str(e.signal)]));
  const explained = new Set<number>(); // ends a kill finding already tells

  // 1. Killers: one process signalling another (kill, tgkill, sigqueue), or the kernel doing so.
  const kills = signals.filter((s) => num(s.pid) !== num(s.targetPid) && ['user', 'queue', 'kernel'].includes(str(s.source)));
  for (const [key, g] of groupBy(kills, (s) => `${str(s.source) === 'kernel' ? 'kernel' : str(s.comm)}>${str(s.signal)}>${str(s.targetComm)}`)) {
    const first = g.events[0]!;
    const sig = str(first.signal);
    const targets = new Set(g.events.map((s) => num(s.targetPid)));
    const died = [...targets].filter((pid) => endSignal.get(pid) === sig);
    died.forEach((pid) => explained.add(pid));
    const kernel = str(first.source) === 'kernel';
    const senders = new Map<string, number>();
    for (const s of g.events) addTo(senders, kernel ? processLabel(s.comm, s.pid) : `${str(s.comm) || 'pid'} (pid ${num(s.pid)}, uid ${num(s.uid)})`, 1);
    const who = kernel ? `The kernel (while ${listText(topKeys(senders, 2))} ran)` : listText(topKeys(senders, 2));
    const n = g.events.length;
    const target = `${str(first.targetComm) || 'a process'} (${pidList(targets)}${cgroupText(first.targetCgroup)})`;
    const outcome = died.length ? `; ${died.length === targets.size ? (targets.size === 1 ? 'it' : 'they') : `${died.length} of them`} ended by it` : '';
    const next = kernel
      ? 'look at the OOM kills and resource limits of that cgroup'
      : `look at why ${str(first.comm) || 'the sender'} kills it (a supervisor's timeout, a script, a person)`;
    const severity: Severity = STOP_SIGNALS.has(sig) ? 'info' : 'warning';
    findings.push(
      makeFinding(
        ctx,
        `kill:${key}`,
        severity,
        `${who} sent ${sig} to ${target} ${times(n)} ${inWindow}${outcome}: ${next}.`,
        {
          signal: sig,
          source: str(first.source),
          senders: Object.fromEntries(senders),
          targets: [...targets],
          ended: died,
          impact: impact(n, ctx),
          examples: [first, ...(n > 1 ? [g.events[n - 1]] : [])],
        },
        (severity === 'warning' ? 50 : 5) * n,
      ),
    );
  }

  // 2. Ends by a signal no kill above explains: crashes (fault signals), or kills whose sender was not seen.
  const threshold = ctx.thresholds.crashLoopExits;
  const byEnd = groupBy(
    exits.filter((e) => str(e.signal) && !explained.has(num(e.pid))),
    (e) => `${str(e.comm)}>${str(e.signal)}`,
  );
  for (const [key, g] of byEnd) {
    const first = g.events[0]!;
    const sig = str(first.signal);
    const n = g.events.length;
    const cores = g.events.filter((e) => e.coreDumped === true).length;
    const crash = CRASH_SIGNALS.has(sig);
    const loop = n >= threshold;
    const lifetimes = g.events.map((e) => num(e.lifetimeMs)).sort((a, b) => a - b);
    const median = lifetimes[Math.floor(lifetimes.length / 2)] ?? 0;
    const what = crash
      ? `${loop ? 'a crash loop: ' : ''}${str(first.comm) || 'a process'} (${pidList(g.pids)}${cgroupText(first.cgroup)}) crashed with ${sig} ${times(n)} ${inWindow}`
      : `${str(first.comm) || 'a process'} (${pidList(g.pids)}${cgroupText(first.cgroup)}) ended by ${sig} ${times(n)} ${inWindow}, sent from outside the window or the selection`;
    const detail = `${cores ? `, ${cores} of ${n} dumped core` : crash ? ', no core dump' : ''}, living ${fmtMs(median)} (median)`;
    const next = crash
      ? cores
        ? 'open the core dumps with gdb'
        : 'enable core dumps (ulimit -c) or look at its logs for the faulting code'
      : 'look at what stops it (supervisor, OOM killer, a person)';
    const severity: Severity = crash ? (loop ? 'critical' : 'warning') : STOP_SIGNALS.has(sig) && !loop ? 'info' : 'warning';
    findings.push(
      makeFinding(
        ctx,
        `end:${key}`,
        severity,
        `${capital(what)}${detail}: ${next}.`,
        {
          signal: sig,
          ends: n,
          pids: [...g.pids],
          coreDumps: cores,
          crashLoop: crash && loop,
          medianLifetimeMs: median,
          impact: impact(n, ctx),
          examples: [first, ...(n > 1 ? [g.events[n - 1]] : [])],
        },
        (crash ? 100 : 20) * n,
      ),
    );
  }

  // 3. The same non-zero exit code again and again: a program failing at start and restarted.
  for (const [key, g] of groupBy(
    exits.filter((e) => !str(e.signal) && num(e.exitCode) !== 0),
    (e) => `${str(e.comm)}>${num(e.exitCode)}`,
  )) {
    const n = g.events.length;
    if (n < threshold) continue;
    const first = g.events[0]!;
    const lifetimes = g.events.map((e) => num(e.lifetimeMs)).sort((a, b) => a - b);
    const median = lifetimes[Math.floor(lifetimes.length / 2)] ?? 0;
    findings.push(
      makeFinding(
        ctx,
        `exit:${key}`,
        'warning',
        `${str(first.comm) || 'A process'} (${pidList(g.pids)}) exited with code ${num(first.exitCode)} ${times(n)} ${inWindow} (${fmtRate(n / Math.max(ctx.windowSeconds, 1e-3))}), living ${fmtMs(median)} (median): a restart loop? Look at its logs and at who starts it.`,
        { exitCode: num(first.exitCode), ends: n, pids: [...g.pids], medianLifetimeMs: median, impact: impact(n, ctx), examples: [first, g.events[n - 1]] },
        10 * n,
      ),
    );
    // A failing call of the same program (syscallerrors) explains why it exits.
    // It leads: the supervisor's storm of its restarts is an effect (execsnoop: `restarts:<comm>`).
    findings.at(-1)!.links = { shows: [`ends:${str(first.comm)}`], explains: [`restarts:${str(first.comm)}`], leads: true };
  }

  const ends = num(data.exits);
  return {
    findings,
    checked: `signals and process ends (${plural(signals.length, 'signal')}, ${plural(ends, 'process end')}, ${plural(exits.filter((e) => str(e.signal)).length, 'by a signal')})`,
  };
}

/** ", cgroup /system.slice/x.service"; nothing for the root or an unknown one. */
const cgroupText = (path: unknown) => (str(path) && str(path) !== '/' ? `, cgroup ${str(path)}` : '');

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const signalsAnalysis = { checks: 'signals and process ends', analyze: analyzeSignals };
