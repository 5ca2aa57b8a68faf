// fsfill: filesystems filling up, disks and tmpfs (filesystems.ts), with how
// soon each is full at its rate, of bytes or of inodes: writes then fail with
// ENOSPC (a database stops, a log is lost, a job dies), and a tmpfs's files
// take the host's memory on the way. Who wrote there is filetop's (its writers
// per filesystem); what deleted files still open hold there is read at the
// end. No BPF object: one statfs a filesystem a second.
import { monoNow } from '../../util/clock.js';
import type { CaptureDefinition, Column } from '../capture.js';
import { fmtBytes, fmtCount } from '../../format/index.js';
import { hostAvailableBytes } from '../../util/meminfo.js';
import { deletedOpenFiles } from '../deleted-open-files.js';
import { analyzeFsfill } from './analyze.js';
import { FilesystemTracks, type FilesystemRow, type FullRow } from './filesystems.js';
import { fsfillSetup } from './setup.js';

export type FsfillParams = typeof fsfillSetup.defaults;

export interface FsfillData {
  /** Filesystems whose used bytes grew minGrowthMiB or more, or their inodes minGrowthInodes, the fullest soonest first (at most `top`). */
  rows: FilesystemRow[];
  /** Filesystems with less than nearlyFullPct of their bytes or inodes left at the end, growing or not. */
  nearlyFull?: FullRow[];
  /** Filesystems read, and how often. */
  filesystems: number;
  intervalMs: number;
  /** The host's MemAvailable at the end: what a tmpfs's files take from. */
  hostAvailableBytes?: number;
}

export const fsfill: CaptureDefinition<FsfillParams, FsfillData> = {
  ...fsfillSetup,
  summary: 'filesystems filling up (disks and tmpfs, statfs once a second), with how soon each is full of bytes or inodes at its rate',
  kind: 'counters',
  analysis: { checks: 'filesystems filling', analyze: analyzeFsfill },

  sample({ params, spool }) {
    const tracks = new FilesystemTracks(spool?.dir);
    let lastNs = 0n;
    const read = () => {
      lastNs = monoNow();
      tracks.read(lastNs);
    };
    read();
    return {
      poll: () => {
        if (monoNow() - lastNs >= BigInt(params.intervalMs) * 1_000_000n) read();
      },
      windowEnded: read,
      finish() {
        const available = hostAvailableBytes();
        const rows = tracks.rows(params.minGrowthMiB * 1024 * 1024, params.minGrowthInodes, params.top);
        const full = tracks.nearlyFull(params.nearlyFullPct / 100, params.top);
        // The filling and full ones only: this reads every process's descriptors.
        const deleted = deletedOpenFiles(new Set([...rows, ...full].map((r) => r.device)));
        const withDeleted = <R extends { device: string }>(r: R): R => (deleted.has(r.device) ? { ...r, deletedOpen: deleted.get(r.device)! } : r);
        return {
          rows: rows.map(withDeleted),
          nearlyFull: full.map(withDeleted),
          filesystems: tracks.count,
          intervalMs: params.intervalMs,
          ...(available !== undefined ? { hostAvailableBytes: available } : {}),
        };
      },
    };
  },

  table: (data) => ({ columns, rows: listed(data) }),
  count: (data) => listed(data).length,
};

/** The filling ones, then those nearly full that did not grow (no growth columns). */
const listed = ({ rows, nearlyFull = [] }: FsfillData): (FilesystemRow | FullRow)[] => [
  ...rows,
  ...nearlyFull.filter((f) => !rows.some((r) => r.device === f.device)),
];

const growing = (r: FilesystemRow | FullRow): r is FilesystemRow => 'growthBytes' in r;
const columns: Column<FilesystemRow | FullRow>[] = [
  { header: 'MOUNT', value: (r) => r.mount },
  { header: 'TYPE', value: (r) => r.fstype },
  { header: 'FROM', value: (r) => (growing(r) ? fmtBytes(r.firstBytes) : '-'), numeric: true },
  { header: 'TO', value: (r) => (growing(r) ? fmtBytes(r.lastBytes) : fmtBytes(r.usedBytes)), numeric: true },
  { header: 'PER S', value: (r) => (growing(r) ? fmtBytes(r.growthBytes / Math.max(0.001, r.seconds)) : '-'), numeric: true },
  { header: 'FREE', value: (r) => fmtBytes(r.availableBytes), numeric: true },
  { header: 'SIZE', value: (r) => fmtBytes(r.sizeBytes), numeric: true },
  {
    header: 'INODES',
    value: (r) =>
      !r.inodes
        ? '-'
        : 'first' in r.inodes
          ? `${fmtCount(r.inodes.first)} → ${fmtCount(r.inodes.last)} of ${fmtCount(r.inodes.total)}`
          : `${fmtCount(r.inodes.total - r.inodes.free)} of ${fmtCount(r.inodes.total)}`,
  },
];
