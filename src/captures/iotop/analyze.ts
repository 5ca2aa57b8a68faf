// iotop's check: a disk busy most of the window, and the processes whose
// reads and writes keep it so. On its own that is how a disk is meant to be
// used; it becomes a finding when something waited on the disk (offcputime's
// disk waits, biolatency's slow disk: `disk-busy`), and then it leads them,
// naming what to slow down or move. A process reading because its memory
// thrashes is that thrash's effect (reclaim explains `file-reads-pid`).
import { isObj, makeFinding, num, objs, str, type AnalysisContext, type CaptureAnalysis, type Obj } from '../../analysis/common.js';
import type { Finding } from '../../analysis/types.js';
import { fmtBytes, fmtPct, fmtSeconds, listText, plural, processLabel } from '../../format/index.js';

/** A request in flight this share of the window or more: busy. */
const BUSY_SHARE = 0.5;
/** The processes named: the fewest that did this share of the bytes, at most MAX_NAMED. */
const NAMED_SHARE = 0.7;
const MAX_NAMED = 3;
/** Less than this per second is not what keeps a disk busy. */
const MIN_BYTES_PER_S = 1024 * 1024;
/** Dirty pages at this share of their limit: worth saying; at AT_DIRTY_LIMIT, writers were being paused (balance_dirty_pages). */
const DIRTY_TOLD = 0.5;
const AT_DIRTY_LIMIT = 0.9;

const bytesOf = (u: Obj) => num(u.readBytes) + num(u.writeBytes);

export function analyzeIotop(data: Obj, ctx: AnalysisContext): CaptureAnalysis {
  const windowS = (num(data.windowUs) || ctx.windowSeconds * 1e6) / 1e6;
  const disks = objs(data.disks);
  const busy = disks.filter((d) => num(d.busyShare) >= BUSY_SHARE);
  const users = objs(data.rows).filter((u) => u.self !== true);
  const total = users.reduce((n, u) => n + bytesOf(u), 0);
  const checked = `disk users (${plural(num(data.processCount), 'process')} read or wrote storage; ${
    disks.length ? disks.map((d) => `${str(d.disk)} busy ${fmtPct(num(d.busyShare))}`).join(', ') : 'no disk did I/O'
  })`;
  const named: Obj[] = [];
  for (const u of users) {
    if (named.length >= MAX_NAMED || named.reduce((n, x) => n + bytesOf(x), 0) >= NAMED_SHARE * total) break;
    if (bytesOf(u) / windowS >= MIN_BYTES_PER_S && !onOtherDisks(u, busy)) named.push(u);
  }
  if (!busy.length || !named.length) return { findings: [], checked };
  return { findings: [busyFinding(named, total, busy, data, windowS, ctx)], checked };
}

/** Its open files are all on disks that were not busy: its bytes went elsewhere (no open file, or none known: it may be the one). */
const onOtherDisks = (u: Obj, busy: Obj[]) => {
  const disks = Array.isArray(u.disks) ? u.disks.map(String) : [];
  return disks.length > 0 && !busy.some((d) => disks.includes(str(d.disk)));
};

function busyFinding(named: Obj[], total: number, busy: Obj[], data: Obj, windowS: number, ctx: AnalysisContext): Finding {
  const lead = named[0]!;
  const pid = num(lead.pid);
  const did = (u: Obj) => {
    const parts = [num(u.writeBytes) ? `wrote ${fmtBytes(num(u.writeBytes))}` : '', num(u.readBytes) ? `read ${fmtBytes(num(u.readBytes))}` : ''].filter(
      Boolean,
    );
    return `${processLabel(u.comm, u.pid)} ${(num(u.writeBytes) >= num(u.readBytes) ? parts : parts.reverse()).join(' and ')}`;
  };
  const share = named.reduce((n, u) => n + bytesOf(u), 0) / Math.max(1, total);
  const disksText = busy
    .map(
      (d) =>
        `${str(d.disk)} was busy ${fmtPct(num(d.busyShare))} of the time (${fmtBytes((num(d.readBytes) + num(d.writeBytes)) / windowS)}/s, ${num(d.awaitMs)} ms a request on average)`,
    )
    .join(' and ');
  const dirty = isObj(data.dirty) ? data.dirty : undefined;
  const writes = named.some((u) => num(u.writeBytes) >= num(u.readBytes));
  const dirtyShare = dirty && num(dirty.limitBytes) > 0 ? num(dirty.maxDirtyBytes) / num(dirty.limitBytes) : 0;
  const atDirtyLimit = dirtyShare >= AT_DIRTY_LIMIT;
  const dirtyText =
    dirty && writes && dirtyShare >= DIRTY_TOLD
      ? `; dirty pages reached ${fmtBytes(num(dirty.maxDirtyBytes))} of their ${fmtBytes(num(dirty.limitBytes))} limit (${str(dirty.setting)})${atDirtyLimit ? ', where the kernel pauses every writer' : ''}`
      : '';
  const title =
    `${listText(named.map(did), MAX_NAMED)} in the ${fmtSeconds(windowS)} window (${fmtPct(share)} of what processes read from and wrote to storage) while ${disksText}` +
    `: I/O of others queues behind ${named.length > 1 ? 'theirs' : 'it'}${dirtyText}; next: slow or move that I/O (ionice -c3, a cgroup I/O limit such as systemd's IOWriteBandwidthMax=, another time or disk)` +
    `${dirtyText ? ', and an fsync waits for the dirty data written before it' : ''}.`;
  return {
    ...makeFinding(
      ctx,
      `busy:${pid}`,
      'info',
      title,
      {
        pid,
        comm: str(lead.comm),
        readBytes: num(lead.readBytes),
        writeBytes: num(lead.writeBytes),
        shareOfBytes: Math.round(share * 1000) / 1000,
        processes: named.map((u) => ({ pid: num(u.pid), comm: str(u.comm), readBytes: num(u.readBytes), writeBytes: num(u.writeBytes) })),
        disks: busy.map((d) => ({
          disk: str(d.disk),
          device: str(d.device),
          busyShare: num(d.busyShare),
          awaitMs: num(d.awaitMs),
          readBytes: num(d.readBytes),
          writeBytes: num(d.writeBytes),
        })),
        ...(dirty ? { dirty } : {}),
      },
      share * Math.max(...busy.map((d) => num(d.busyShare))),
    ),
    cause: { key: `disk kept busy by ${str(lead.comm)}`, subject: `pid ${pid}` },
    // What waited on a busy disk (offcputime's disk waits, biolatency's slow disk) waited behind this, and the named
    // processes' hot files (filetop) are this I/O file by file; a reader thrashing is the thrash's effect.
    links: {
      explains: ['disk-busy', ...busy.map((d) => `disk-busy:${str(d.disk)}`), ...named.map((u) => `disk-user-pid:${num(u.pid)}`)],
      ...(num(lead.readBytes) > num(lead.writeBytes) ? { shows: [`file-reads-pid:${pid}`] } : {}),
      onlyAsCause: true,
    },
  };
}
