// fsfill's check: a filesystem whose used bytes climb through the window,
// with how soon it is full at that rate. A disk is full when what a process
// without root may write is gone (then ENOSPC: a database stops, a log is
// lost); a tmpfs at its size, or sooner when the host's available memory is
// gone first (its files live in memory). Only a steady climb that is full
// within minutes is more than information (growth-track.ts). Who wrote there
// leads it when filetop was in the run (the link `writes-to:<device>`).
import { makeFinding, num, objs, str, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtSeconds, plural } from '../../format/index.js';
import { MIN_SECONDS, scoreOf, severityOf, steadyClimb } from '../growth-track.js';

export function analyzeFsfill(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const hostAvailable = data.hostAvailableBytes === undefined ? undefined : num(data.hostAvailableBytes);
  const findings = objs(data.rows).flatMap((r) => {
    const seconds = num(r.seconds);
    return seconds >= MIN_SECONDS ? [fillingFinding(r, seconds, hostAvailable, ctx)] : [];
  });
  return { findings, checked: `filesystems filling (${plural(num(data.filesystems), 'filesystem')} read every ${num(data.intervalMs)} ms)` };
}

function fillingFinding(r: Obj, seconds: number, hostAvailable: number | undefined, ctx: AnalysisContext): Finding {
  const mount = str(r.mount);
  const tmpfs = r.kind === 'tmpfs';
  const growth = num(r.growthBytes);
  const rate = growth / seconds;
  const steady = steadyClimb(r);
  // The room that runs out first: what may still be written, or, for a tmpfs, the host's memory its files take.
  const writable = Math.max(0, num(r.availableBytes));
  const byMemory = tmpfs && hostAvailable !== undefined && hostAvailable < writable;
  const room = byMemory ? hostAvailable : writable;
  const secondsLeft = rate > 0 ? room / rate : undefined;
  const severity = severityOf(steady, secondsLeft);
  const steps = Math.max(1, num(r.samples) - 1);
  const what = tmpfs ? `tmpfs ${mount}` : `Filesystem ${mount} (${str(r.fstype)} on ${str(r.source)})`;
  const grew =
    `${what} on ${ctx.node} filled by ${fmtBytes(growth)} in ${fmtSeconds(seconds)} (${fmtBytes(rate)}/s, ${fmtBytes(num(r.firstBytes))} → ${fmtBytes(num(r.lastBytes))} ` +
    `of its ${fmtBytes(num(r.sizeBytes))}), up in ${num(r.rises)} of ${plural(steps, 'reading')}` +
    (tmpfs ? ": files kept in memory, which no process's own memory shows" : '');
  const runsOut =
    secondsLeft === undefined
      ? ''
      : byMemory
        ? `; at this rate the host's available memory (${fmtBytes(room)}) is gone in ~${fmtSeconds(secondsLeft)}`
        : `; at this rate it is full in ~${fmtSeconds(secondsLeft)}, and writes to it then fail with ENOSPC`;
  const finding = makeFinding(
    ctx,
    `fsfill:${mount}`,
    severity,
    `${grew}${runsOut}; next: what writes there and keeps it (du -xsh ${mount}/*, lsof +L1 ${mount} for deleted files still open).`,
    {
      mount,
      kind: str(r.kind),
      fstype: str(r.fstype),
      source: str(r.source),
      growthBytes: growth,
      bytesPerSecond: Math.round(rate),
      firstBytes: num(r.firstBytes),
      lastBytes: num(r.lastBytes),
      sizeBytes: num(r.sizeBytes),
      availableBytes: writable,
      samples: num(r.samples),
      rises: num(r.rises),
      falls: num(r.falls),
      steady,
      ...(secondsLeft !== undefined ? { secondsLeft: Math.round(secondsLeft), runsOutOf: byMemory ? 'host' : tmpfs ? 'size' : 'space' } : {}),
    },
    scoreOf(severity, secondsLeft),
  );
  // Who wrote to it (filetop's writers, when the run had filetop): that process leads, this is its effect.
  if (str(r.device)) finding.links = { shows: [`writes-to:${str(r.device)}`] };
  return finding;
}
