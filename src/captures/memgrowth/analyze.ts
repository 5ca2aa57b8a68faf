// memgrowth's check: a process whose own memory climbs through the window,
// reading after reading (a leak, or a cache without a bound), with how soon
// it runs out of room at that rate: its memory cgroup's limit (then the OOM
// killer ends it) or the host's available memory. Only a climb that runs out
// within minutes is more than information: a heap filling a cache, or one that
// runs out in an hour, is not what slows the service now, and must not rank
// above what does.
// Memory that also falls back (a heap collected as it goes) is information.
// A tmpfs filling the same way runs out at its size (ENOSPC) or the host's memory.
import { makeFinding, num, str, type AnalysisContext, type CaptureAnalysis, type Obj, objs } from '../../analysis/common.js';
import type { Finding, Severity } from '../../analysis/types.js';
import { fmtBytes, fmtSeconds, plural, processLabel } from '../../format/index.js';

/** Out of room within this many seconds at its rate: critical; later, information. */
const SOON_S = 300;
/** A window this short says nothing about a rate. */
const MIN_SECONDS = 0.5;
/** Steady: down in at most this share of its steps, and at its end within this share of its peak. */
const MAX_FALLS_SHARE = 0.2;
const NEAR_PEAK = 0.9;

export function analyzeMemgrowth(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const rows = objs(data.rows);
  const hostAvailable = data.hostAvailableBytes === undefined ? undefined : num(data.hostAvailableBytes);
  const findings = [
    ...rows.flatMap((r) => {
      const seconds = num(r.seconds);
      return seconds >= MIN_SECONDS ? [growthFinding(r, seconds, hostAvailable, ctx)] : [];
    }),
    ...objs(data.tmpfs).flatMap((r) => {
      const seconds = num(r.seconds);
      return seconds >= MIN_SECONDS ? [tmpfsFinding(r, seconds, hostAvailable, ctx)] : [];
    }),
  ];
  const mounts = data.tmpfsMounts === undefined ? '' : ` and ${plural(num(data.tmpfsMounts), 'tmpfs mount')} once a second`;
  return { findings, checked: `memory growth (${plural(num(data.processes), 'process')} read every ${num(data.intervalMs)} ms${mounts})` };
}

/** Steady: up reading after reading, and at its end near its peak. */
function steadyClimb(r: Obj): boolean {
  const steps = Math.max(1, num(r.samples) - 1);
  return num(r.falls) <= Math.max(1, steps * MAX_FALLS_SHARE) && num(r.lastBytes) >= num(r.peakBytes) * NEAR_PEAK;
}

/** Critical when a steady climb runs out of room soon; ranked by how soon. */
const severityOf = (steady: boolean, secondsLeft: number | undefined): Severity =>
  steady && secondsLeft !== undefined && secondsLeft <= SOON_S ? 'critical' : 'info';
const scoreOf = (severity: Severity, secondsLeft: number | undefined) => (severity === 'critical' ? 10 + SOON_S / Math.max(1, secondsLeft!) : 0.01);

/** A tmpfs filling: its files hold memory no process's own shows, up to its size (then ENOSPC). */
function tmpfsFinding(r: Obj, seconds: number, hostAvailable: number | undefined, ctx: AnalysisContext): Finding {
  const mount = str(r.mount);
  const growth = num(r.growthBytes);
  const rate = growth / seconds;
  const steady = steadyClimb(r);
  const sizeRoom = Math.max(0, num(r.sizeBytes) - num(r.lastBytes));
  // The room that runs out first: the mount's own size, or the host's memory its files take.
  const bySize = hostAvailable === undefined || sizeRoom <= hostAvailable;
  const room = bySize ? sizeRoom : hostAvailable;
  const secondsLeft = rate > 0 ? room / rate : undefined;
  const severity = severityOf(steady, secondsLeft);
  const steps = Math.max(1, num(r.samples) - 1);
  const grew =
    `tmpfs ${mount} on ${ctx.node} filled by ${fmtBytes(growth)} in ${fmtSeconds(seconds)} (${fmtBytes(rate)}/s, ${fmtBytes(num(r.firstBytes))} → ${fmtBytes(num(r.lastBytes))} ` +
    `of its ${fmtBytes(num(r.sizeBytes))}), up in ${num(r.rises)} of ${plural(steps, 'reading')}: files kept in memory, which no process's own memory shows`;
  const runsOut =
    secondsLeft === undefined
      ? ''
      : bySize
        ? `; at this rate it is full in ~${fmtSeconds(secondsLeft)}, and writes to it then fail with ENOSPC`
        : `; at this rate the host's available memory (${fmtBytes(room)}) is gone in ~${fmtSeconds(secondsLeft)}`;
  const finding = makeFinding(
    ctx,
    `tmpfs:${mount}`,
    severity,
    `${grew}${runsOut}; next: what writes there and keeps it (du -xsh ${mount}/*, lsof +L1 ${mount} for deleted files still open).`,
    {
      mount,
      growthBytes: growth,
      bytesPerSecond: Math.round(rate),
      firstBytes: num(r.firstBytes),
      lastBytes: num(r.lastBytes),
      sizeBytes: num(r.sizeBytes),
      samples: num(r.samples),
      rises: num(r.rises),
      falls: num(r.falls),
      steady,
      ...(secondsLeft !== undefined ? { secondsLeft: Math.round(secondsLeft), runsOutOf: bySize ? 'size' : 'host' } : {}),
    },
    scoreOf(severity, secondsLeft),
  );
  // Who wrote to it (filetop's writers, when the run had filetop): that process leads, this is its effect.
  if (str(r.device)) finding.links = { shows: [`writes-to:${str(r.device)}`] };
  return finding;
}

function growthFinding(r: Obj, seconds: number, hostAvailable: number | undefined, ctx: AnalysisContext): Finding {
  const pid = num(r.pid);
  const growth = num(r.growthBytes);
  const rate = growth / seconds;
  const steps = Math.max(1, num(r.samples) - 1);
  const steady = steadyClimb(r);
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
