// signals' checks, one finding per cause: a process killing another (sender,
// signal, target), a program ending by a fault signal (a crash, or a crash
// loop when it repeats), a program exiting with the same non-zero code again
// and again (a restart loop). A kill and the end it caused are one finding.
import {
  addTo,
  BoundedGroups,
  eventsOf,
  makeFinding,
  MAX_EVENT_GROUPS,
  num,
  str,
  topKeys,
  type CaptureAnalysis,
  type AnalysisContext,
  type Obj,
} from '../../analysis/common.js';
import { fmtMs, fmtRate, fmtSeconds, listText, plural, processLabel } from '../../analysis/format.js';
import type { Finding, Severity } from '../../analysis/types.js';

/** Signals a fault raises in the process itself: its end by one is a crash. */
export const CRASH_SIGNALS = new Set(['SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGABRT', 'SIGSYS', 'SIGTRAP']);
/** Signals that stop a process until SIGCONT: what a stopped process's waits (offcputime) show. */
const PAUSE_SIGNALS = new Set(['SIGSTOP', 'SIGTSTP']);
/** Signals that ask a process to stop: sent by supervisors and people every day. */
const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGPIPE']);

/** Pids, targets and lifetimes kept per group; past it only the counts grow (they stay exact). */
const MAX_KEPT = 1000;

interface Group {
  n: number;
  first: Obj;
  last: Obj;
  pids: Set<number>;
  /** Who started them (a supervisor restarting a program is one parent). */
  parents: Set<number>;
  targets: Set<number>;
  senders: Map<string, number>;
  cores: number;
  lifetimes: number[];
}

const newGroup = (): Group => ({
  n: 0,
  first: {},
  last: {},
  pids: new Set(),
  parents: new Set(),
  targets: new Set(),
  senders: new Map(),
  cores: 0,
  lifetimes: [],
});

function addEvent(g: Group | undefined, e: Obj): Group | undefined {
  if (!g) return undefined;
  if (!g.n) g.first = e;
  g.last = e;
  g.n++;
  if (g.pids.size < MAX_KEPT) g.pids.add(num(e.pid));
  if (num(e.ppid) > 1 && g.parents.size < MAX_KEPT) g.parents.add(num(e.ppid));
  if (e.coreDumped === true) g.cores++;
  if (g.lifetimes.length < MAX_KEPT) g.lifetimes.push(num(e.lifetimeMs));
  return g;
}

const medianOf = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const pidList = (pids: Iterable<number>) => {
  const list = [...pids];
  return `pid${list.length > 1 ? 's' : ''} ${listText(list.map(String), 4)}`;
};

function impact(n: number, ctx: AnalysisContext) {
  const window = Math.max(ctx.windowSeconds, 1e-3);
  return { events: n, perSecond: n / window, perMinute: (n * 60) / window, windowSeconds: ctx.windowSeconds };
}

function analyzeSignals(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const findings: Finding[] = [];
  const times = (n: number) => (n === 1 ? 'once' : `${n} times`);
  const inWindow = `in ${fmtSeconds(ctx.windowSeconds)} on ${ctx.node}`;

  // Pass 1 (streaming: the events may be spooled on disk): kills grouped, who ended by which signal.
  const kills = new BoundedGroups(newGroup);
  const endSignal = new Map<number, string>();
  let signalCount = 0;
  let bySignal = 0;
  for (const e of eventsOf(data)) {
    if (e.kind === 'exit') {
      if (!str(e.signal)) continue;
      bySignal++;
      if (endSignal.size < MAX_EVENT_GROUPS * 10) endSignal.set(num(e.pid), str(e.signal));
      continue;
    }
    if (e.kind !== 'signal') continue;
    signalCount++;
    // Killers: one process signalling another (kill, tgkill, sigqueue), or the kernel doing so.
    if (num(e.pid) === num(e.targetPid) || !['user', 'queue', 'kernel'].includes(str(e.source))) continue;
    const kernel = str(e.source) === 'kernel';
    const g = addEvent(kills.get(`${kernel ? 'kernel' : str(e.comm)}>${str(e.signal)}>${str(e.targetComm)}`), e);
    if (!g) continue;
    if (g.targets.size < MAX_KEPT) g.targets.add(num(e.targetPid));
    addTo(g.senders, kernel ? processLabel(e.comm, e.pid) : `${str(e.comm) || 'pid'} (pid ${num(e.pid)}, uid ${num(e.uid)})`, 1);
  }
  const explained = new Set<number>(); // ends a kill finding already tells

  // 1. Killers; a kill's sentence says whether its target died of it.
  for (const [key, g] of kills.map) {
    const first = g.first;
    const sig = str(first.signal);
    const targets = g.targets;
    const died = [...targets].filter((pid) => endSignal.get(pid) === sig);
    died.forEach((pid) => explained.add(pid));
    const kernel = str(first.source) === 'kernel';
    const senders = g.senders;
    const who = kernel ? `The kernel (while ${listText(topKeys(senders, 2))} ran)` : listText(topKeys(senders, 2));
    const n = g.n;
    const target = `${str(first.targetComm) || 'a process'} (${pidList(targets)}${cgroupText(first.targetCgroup)})`;
    const outcome = died.length ? `; ${died.length === targets.size ? (targets.size === 1 ? 'it' : 'they') : `${died.length} of them`} ended by it` : '';
    const paused = PAUSE_SIGNALS.has(sig);
    const next = paused
      ? `resume it (kill -CONT) and look at why ${str(first.comm) || 'the sender'} stops it (job control, a script, a person)`
      : kernel
        ? 'look at the OOM kills and resource limits of that cgroup'
        : `look at why ${str(first.comm) || 'the sender'} kills it (a supervisor's timeout, a script, a person)`;
    const severity: Severity = STOP_SIGNALS.has(sig) ? 'info' : 'warning';
    findings.push({
      ...makeFinding(
        ctx,
        `kill:${key}`,
        severity,
        `${who} sent ${sig} to ${target} ${times(n)} ${inWindow}${outcome}: ${next}.`,
        {
          signal: sig,
          source: str(first.source),
          senders: Object.fromEntries([...senders].sort((a, b) => b[1] - a[1]).slice(0, 20)),
          targets: [...targets],
          ended: died,
          impact: impact(n, ctx),
          examples: [first, ...(n > 1 ? [g.last] : [])],
        },
        (severity === 'warning' ? 50 : 5) * n,
      ),
      // A stopped target's time stopped (offcputime) is what this cost.
      ...(paused ? { links: { explains: [...targets].map((pid) => `stopped-pid:${pid}`) } } : {}),
    });
  }

  // Pass 2: ends by a signal no kill above explains, and non-zero exit codes.
  const byEnd = new BoundedGroups(newGroup);
  const byCode = new BoundedGroups(newGroup);
  for (const e of eventsOf(data)) {
    if (e.kind !== 'exit') continue;
    if (str(e.signal)) {
      if (!explained.has(num(e.pid))) addEvent(byEnd.get(`${str(e.comm)}>${str(e.signal)}`), e);
    } else if (num(e.exitCode) !== 0) addEvent(byCode.get(`${str(e.comm)}>${num(e.exitCode)}`), e);
  }

  // 2. Ends by a signal: crashes (fault signals), or kills whose sender was not seen.
  const threshold = ctx.thresholds.crashLoopExits;
  for (const [key, g] of byEnd.map) {
    const first = g.first;
    const sig = str(first.signal);
    const n = g.n;
    const cores = g.cores;
    const crash = CRASH_SIGNALS.has(sig);
    const loop = n >= threshold;
    const median = medianOf(g.lifetimes);
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
          examples: [first, ...(n > 1 ? [g.last] : [])],
        },
        (crash ? 100 : 20) * n,
      ),
    );
    // The kernel's line about each crash (dmesg) says where it faulted: that finding leads, these ends are its effect.
    if (crash) findings.at(-1)!.links = { shows: [`crash:${str(first.comm)}`] };
  }

  // 3. The same non-zero exit code again and again: a program failing at start and restarted.
  for (const [key, g] of byCode.map) {
    const n = g.n;
    if (n < threshold) continue;
    const first = g.first;
    const median = medianOf(g.lifetimes);
    findings.push(
      makeFinding(
        ctx,
        `exit:${key}`,
        'warning',
        `${str(first.comm) || 'A process'} (${pidList(g.pids)}) exited with code ${num(first.exitCode)} ${times(n)} ${inWindow} (${fmtRate(n / Math.max(ctx.windowSeconds, 1e-3))}), living ${fmtMs(median)} (median): a restart loop? Look at its logs and at who starts it.`,
        { exitCode: num(first.exitCode), ends: n, pids: [...g.pids], medianLifetimeMs: median, impact: impact(n, ctx), examples: [first, g.last] },
        10 * n,
      ),
    );
    // A failing call of the same program (syscallerrors) explains why it exits.
    // It leads: the supervisor's storm of its restarts is an effect (execsnoop: `restarts:<comm>`); execsnoop's
    // count of the same exits, by the program's file (a name it may have changed since), repeats it.
    findings.at(-1)!.links = {
      shows: [`ends:${str(first.comm)}`],
      explains: [`restarts:${str(first.comm)}`, ...[...g.parents].map((ppid) => `exit-loop-parent:${ppid}`)],
      leads: true,
    };
  }

  const ends = num(data.exits);
  const capped = kills.overflow + byEnd.overflow + byCode.overflow;
  return {
    findings,
    checked:
      `signals and process ends (${plural(signalCount, 'signal')}, ${plural(ends, 'process end')}, ${plural(bySignal, 'by a signal')})` +
      (capped ? `; ${plural(capped, 'event')} past ${MAX_EVENT_GROUPS} distinct senders or programs were counted but not grouped` : ''),
  };
}

/** ", cgroup /system.slice/x.service"; nothing for the root or an unknown one. */
const cgroupText = (path: unknown) => (str(path) && str(path) !== '/' ? `, cgroup ${str(path)}` : '');

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const signalsAnalysis = { checks: 'signals and process ends', analyze: analyzeSignals };
