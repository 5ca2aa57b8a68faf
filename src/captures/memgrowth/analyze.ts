// memgrowth's check: a process whose own memory climbs through the window,
// reading after reading (a leak, or a cache without a bound), with how soon
// it runs out of room at that rate: its memory cgroup's limit (then the OOM
// killer ends it) or the host's available memory. Only a climb that runs out
// within minutes is more than information: a heap filling a cache, or one that
// runs out in an hour, is not what slows the service now, and must not rank
// above what does.
// Memory that also falls back (a heap collected as it goes) is information.
import { makeFinding, num, str, type AnalysisContext, type CaptureAnalysis, type Obj, objs } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtSeconds, plural, processLabel } from '../../format/index.js';
import { MIN_SECONDS, scoreOf, severityOf, steadyClimb } from '../growth-track.js';

export function analyzeMemgrowth(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const hostAvailable = data.hostAvailableBytes === undefined ? undefined : num(data.hostAvailableBytes);
  const findings = [
    ...rows.flatMap((r) => {
      const seconds = num(r.seconds);
      return seconds >= MIN_SECONDS ? [growthFinding(r, seconds, hostAvailable, ctx)] : [];
    }),
  ];
  return { findings, checked: `memory growth (${plural(num(data.processes), 'process')} read every ${num(data.intervalMs)} ms)` };
}

function growthFinding(r: Obj, seconds: number, hostAvailable: number | undefined, ctx: AnalysisContext): Finding {
  const pid = num(r.pid);
  const growth = num(r.growthBytes);
  const rate = growth / seconds;
  const steps = Math.max(1, num(r.samples) - 1);
  const steady = steadyClimb(num(r.samples), num(r.falls), num(r.lastBytes), num(r.peakBytes));
  const limit = r.limit as Obj | undefined;
  const cgroupRoom = limit ? Math.max(0, num(limit.limitBytes) - num(limit.usageBytes)) : undefined;
  // The room that runs out first: under its cgroup's limit, or the host's.
  const byCgroup = cgroupRoom !== undefined && (hostAvailable === undefined || cgroupRoom <= hostAvailable);
  const room = byCgroup ? cgroupRoom : hostAvailable;
  const secondsLeft = room !== undefined && rate > 0 ? room / rate : undefined;
  const severity = severityOf(steady, secondsLeft);
  const grew =
    `${processLabel(str(r.comm), pid)} grew its own memory by ${fmtBytes(growth)} in ${fmtSeconds(seconds)} on ${ctx.node} ` +
    `(${fmtBytes(rate)}/s, ${fmtBytes(num(r.firstBytes))} → ${fmtBytes(num(r.lastBytes))}), up in ${num(r.rises)} of ${plural(steps, 'reading')}`;
  const runsOut =
    secondsLeft === undefined
      ? ''
      : byCgroup
        ? `: at this rate its memory cgroup ${str(limit!.cgroup)} reaches its ${fmtBytes(num(limit!.limitBytes))} limit (${fmtBytes(num(limit!.usageBytes))} used) in ~${fmtSeconds(secondsLeft)}, and the OOM killer ends a process there`
        : `: at this rate the host's available memory (${fmtBytes(room!)}) is gone in ~${fmtSeconds(secondsLeft)}`;
  const title = steady
    ? `${grew}${runsOut}; next: what it allocates and keeps (a heap profile: pprof, tracemalloc, jemalloc's or a JVM's heap dump), or roll back the release that began it.`
    : `${grew}, and down in ${num(r.falls)}: a heap that grows and is collected, or a working set filling up, not a steady climb.`;
  return {
    ...makeFinding(
      ctx,
      `pid:${pid}`,
      severity,
      title,
      {
        pid,
        comm: str(r.comm),
        growthBytes: growth,
        bytesPerSecond: Math.round(rate),
        firstBytes: num(r.firstBytes),
        lastBytes: num(r.lastBytes),
        samples: num(r.samples),
        rises: num(r.rises),
        falls: num(r.falls),
        steady,
        ...(limit ? { limit } : {}),
        ...(secondsLeft !== undefined ? { secondsLeft: Math.round(secondsLeft), runsOutOf: byCgroup ? 'cgroup' : 'host' } : {}),
      },
      // No time lost yet: ranked by how soon it runs out.
      scoreOf(severity, secondsLeft),
    ),
    // Its stalls reclaiming at that limit are what the growth costs already.
    links: { explains: [`memory-growth-pid:${pid}`] },
  };
}
