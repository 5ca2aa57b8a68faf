// fsfill's check: a filesystem whose use climbs through the window, with how
// soon it is full at that rate. Full of bytes: a disk when what a process
// without root may write is gone, a tmpfs at its size, or sooner when the
// host's available memory is gone first (its files live in memory). Full of
// inodes: every file created takes one, and many small files use them up with
// bytes to spare (df -i). Either way writes then fail with ENOSPC (a database
// stops, a log is lost, a job dies). Only a steady climb that is full within
// minutes is more than information (growth-track.ts). Who wrote there leads
// it when filetop was in the run (the link `writes-to:<device>`). Space held
// by deleted files still open is named: df counts it, du does not. A
// filesystem with little room left, growing or not, is named too (a full one
// as a warning, low in the order: nothing may write to it in the window).
import { makeFinding, num, objs, str, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtCount, fmtSeconds, plural, processLabel } from '../../format/index.js';
import { deletedOpenText, type DeletedOpen } from '../deleted-open-files.js';
import { MIN_SECONDS, scoreOf, severityOf, steadyClimb } from '../growth-track.js';

export function analyzeFsfill(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const hostAvailable = data.hostAvailableBytes === undefined ? undefined : num(data.hostAvailableBytes);
  const findings = objs(data.rows).flatMap((r) => {
    const seconds = num(r.seconds);
    return seconds >= MIN_SECONDS ? [fillingFinding(r, seconds, hostAvailable, ctx)] : [];
  });
  const filling = new Set(findings.map((f) => str(f.evidence.device)));
  for (const r of objs(data.nearlyFull)) if (!filling.has(str(r.device))) findings.push(fullFinding(r, ctx));
  return { findings, checked: `filesystems filling (${plural(num(data.filesystems), 'filesystem')} read every ${num(data.intervalMs)} ms)` };
}

/** How it runs out: of bytes (its room, or the host's memory for a tmpfs) or of inodes, and when at its rate. */
interface RunsOut {
  of: 'space' | 'size' | 'host' | 'inodes';
  secondsLeft: number | undefined;
  steady: boolean;
}

function runsOut(r: Obj, seconds: number, hostAvailable: number | undefined): RunsOut {
  const tmpfs = r.kind === 'tmpfs';
  const writable = Math.max(0, num(r.availableBytes));
  const byHost = tmpfs && hostAvailable !== undefined && hostAvailable < writable;
  const rate = num(r.growthBytes) / seconds;
  const bytes: RunsOut = {
    of: byHost ? 'host' : tmpfs ? 'size' : 'space',
    secondsLeft: rate > 0 ? (byHost ? hostAvailable : writable) / rate : undefined,
    steady: steadyClimb(num(r.samples), num(r.falls), num(r.lastBytes), num(r.peakBytes)),
  };
  const i = r.inodes as Obj | undefined;
  const inodeRate = i ? (num(i.last) - num(i.first)) / seconds : 0;
  if (!i || inodeRate <= 0) return bytes;
  const inodes: RunsOut = { of: 'inodes', secondsLeft: num(i.free) / inodeRate, steady: steadyClimb(num(i.samples), num(i.falls), num(i.last), num(i.peak)) };
  // The one that runs out first, of those that climb steadily.
  const soonest = (x: RunsOut) => (x.steady && x.secondsLeft !== undefined ? x.secondsLeft : Infinity);
  return soonest(inodes) < soonest(bytes) || bytes.secondsLeft === undefined ? inodes : bytes;
}

function fillingFinding(r: Obj, seconds: number, hostAvailable: number | undefined, ctx: AnalysisContext): Finding {
  const tmpfs = r.kind === 'tmpfs';
  const growth = num(r.growthBytes);
  const out = runsOut(r, seconds, hostAvailable);
  const severity = severityOf(out.steady, out.secondsLeft);
  const steps = Math.max(1, num(r.samples) - 1);
  const { what, at, id } = named(r);
  const i = r.inodes as Obj | undefined;
  const grew =
    out.of === 'inodes'
      ? `${what} on ${ctx.node}: ${fmtCount(num(i!.last) - num(i!.first))} more inodes in use in ${fmtSeconds(seconds)} ` +
        `(${fmtCount((num(i!.last) - num(i!.first)) / seconds)} files created a second, ${fmtCount(num(i!.first))} → ${fmtCount(num(i!.last))} of its ${fmtCount(num(i!.total))} inodes), ` +
        `up in ${num(i!.rises)} of ${plural(steps, 'reading')}, with ${fmtBytes(num(r.availableBytes))} still free`
      : `${what} on ${ctx.node} filled by ${fmtBytes(growth)} in ${fmtSeconds(seconds)} (${fmtBytes(growth / seconds)}/s, ${fmtBytes(num(r.firstBytes))} → ${fmtBytes(num(r.lastBytes))} ` +
        `of its ${fmtBytes(num(r.sizeBytes))}), up in ${num(r.rises)} of ${plural(steps, 'reading')}` +
        (tmpfs ? ": files kept in memory, which no process's own memory shows" : '');
  const left = out.secondsLeft === undefined ? '' : `~${fmtSeconds(out.secondsLeft)}`;
  const ending =
    out.secondsLeft === undefined
      ? ''
      : out.of === 'host'
        ? `; at this rate the host's available memory (${fmtBytes(hostAvailable!)}) is gone in ${left}`
        : out.of === 'inodes'
          ? `; at this rate its inodes are gone in ${left}, and creating a file there then fails with ENOSPC though bytes are free (df -i)`
          : `; at this rate it is full in ${left}, and writes to it then fail with ENOSPC`;
  const next =
    out.of === 'inodes'
      ? `which directory holds the files (du --inodes -x ${at} | sort -n | tail)`
      : `what writes there and keeps it (du -xsh ${at}/*, lsof +L1 ${at} for deleted files still open)`;
  const deleted = out.of === 'inodes' ? '' : deletedOpenText(r.deletedOpen as DeletedOpen | undefined, num(r.sizeBytes));
  const finding = makeFinding(
    ctx,
    `fsfill:${id}`,
    severity,
    `${grew}${ending}${deleted}; next: ${next}.`,
    {
      ...described(r),
      growthBytes: growth,
      bytesPerSecond: Math.round(growth / seconds),
      firstBytes: num(r.firstBytes),
      lastBytes: num(r.lastBytes),
      availableBytes: num(r.availableBytes),
      samples: num(r.samples),
      rises: num(r.rises),
      falls: num(r.falls),
      steady: out.steady,
      ...(out.secondsLeft !== undefined ? { secondsLeft: Math.round(out.secondsLeft), runsOutOf: out.of } : {}),
    },
    scoreOf(severity, out.secondsLeft),
  );
  // Who wrote to it (filetop's writers, when the run had filetop): that process leads, this is its effect.
  if (str(r.device)) finding.links = { shows: [`writes-to:${str(r.device)}`], ...roomLinks(r) };
  return finding;
}

/** Full: under 1% of its bytes left, at most 1 GiB (a write of more than is left fails); of its inodes, under 1%, at most 1,000. */
const FULL_SHARE = 0.01;
const FULL_BYTES = 1 << 30;
const FULL_INODES = 1000;
const spent = (left: number, total: number, cap: number) => left < Math.min(FULL_SHARE * total, cap);

/**
 * Its rank among findings of its severity: a full disk leads a run about the disk or the host's health, but is low in one about
 * latency or CPU (nothing may write to it in the window; when something does, syscallerrors' ENOSPC says who).
 */
const fullScore = (symptom: AnalysisContext['symptom']) => (symptom === 'disk' || symptom === 'health' ? 1 : 0.01);

/** A filesystem with little room left, growing or not: how full, of bytes or of inodes. */
function fullFinding(r: Obj, ctx: AnalysisContext): Finding {
  const { what, at, id } = named(r);
  const size = num(r.sizeBytes);
  const available = Math.max(0, num(r.availableBytes));
  const i = r.inodes as Obj | undefined;
  const inodesLeft = i && num(i.total) > 0 ? num(i.free) / num(i.total) : 1;
  const byInodes = inodesLeft < available / Math.max(1, size);
  const full = byInodes ? spent(num(i!.free), num(i!.total), FULL_INODES) : spent(available, size, FULL_BYTES);
  const state = byInodes
    ? `has ${num(i!.free) === 0 ? 'no inodes left' : `${fmtCount(num(i!.free))} of its ${fmtCount(num(i!.total))} inodes left`} (df -i): ` +
      `creating a file there ${num(i!.free) === 0 ? 'fails' : 'fails once they are gone'} with ENOSPC though bytes are free`
    : `is ${full ? 'full' : `${Math.round((1 - available / Math.max(1, size)) * 100)}% full`} for a process without root: ` +
      `${fmtBytes(available)} of its ${fmtBytes(size)} left to write` +
      (full ? (available === 0 ? ', and writes to it fail with ENOSPC' : ': writes to it fail with ENOSPC once that is used') : '');
  const deleted = byInodes ? '' : deletedOpenText(r.deletedOpen as DeletedOpen | undefined, size);
  const next = byInodes ? `which directory holds the files (du --inodes -x ${at} | sort -n | tail)` : `what fills it (du -xsh ${at}/*, lsof +L1 ${at})`;
  const finding = makeFinding(
    ctx,
    `fsfill-full:${id}`,
    full ? 'warning' : 'info',
    `${what} on ${ctx.node} ${state}${deleted}; next: ${next}.`,
    {
      ...described(r),
      availableBytes: available,
      runsOutOf: byInodes ? 'inodes' : 'space',
      full,
    },
    fullScore(ctx.symptom),
  );
  if (str(r.device)) finding.links = roomLinks(r);
  return finding;
}

/** A write that found no room there (syscallerrors' ENOSPC, EDQUOT): this filesystem's state is why. */
const roomLinks = (r: Obj) => ({ explains: [`room-of:${str(r.device)}`] });

/** How a finding names the filesystem ("Filesystem /var (ext4 on /dev/vda1)", "tmpfs /dev/shm in the mount namespace of ..."), its path from the host, and its part of the finding's id. */
function named(r: Obj): { what: string; at: string; id: string } {
  const mount = str(r.mount);
  const ns = r.namespaceOf as Obj | undefined;
  const where = ns ? ` in the mount namespace of ${processLabel(ns.comm, ns.pid)}` : '';
  const what = r.kind === 'tmpfs' ? `tmpfs ${mount}${where}` : `Filesystem ${mount}${where} (${str(r.fstype)} on ${str(r.source)})`;
  // Commands that work from the host: another namespace's mount through its process's root.
  // Two containers each have their own /dev/shm: another namespace's is told apart by its process in the finding's id.
  return { what, at: ns ? `/proc/${num(ns.pid)}/root${mount}` : mount, id: ns ? `${num(ns.pid)}:${mount}` : mount };
}

/** The evidence both findings give of the filesystem itself. */
const described = (r: Obj) => ({
  mount: str(r.mount),
  device: str(r.device),
  ...(r.namespaceOf ? { namespaceOf: r.namespaceOf } : {}),
  kind: str(r.kind),
  fstype: str(r.fstype),
  source: str(r.source),
  sizeBytes: num(r.sizeBytes),
  ...(r.inodes ? { inodes: r.inodes } : {}),
  ...(r.deletedOpen ? { deletedOpen: r.deletedOpen } : {}),
});
