// Each whole disk's work from /proc/diskstats: bytes and requests each way,
// the time requests took, and the time it had any in flight (busy). Partitions
// are left out (their disk counts them); sectors are 512 bytes there whatever
// the disk's own.
import { readdirSync } from 'node:fs';
import { readText } from '../../util/read-text.js';

export interface DiskCounters {
  reads: number;
  readBytes: number;
  readMs: number;
  writes: number;
  writeBytes: number;
  writeMs: number;
  busyMs: number;
}

export interface DiskActivity extends DiskCounters {
  /** The kernel's name ("vda", "dm-0"), as the block tracepoints' captures label it. */
  disk: string;
  /** A device-mapper volume's own name ("vg-root"). */
  volume?: string;
  device: string;
  /** busyMs over the window: a request in flight this share of the time. */
  busyShare: number;
  /** Time a request took on average, queueing included (read and write together). */
  awaitMs: number;
}

const SECTOR = 512;

function wholeDisks(): Set<string> {
  try {
    return new Set(readdirSync('/sys/block'));
  } catch {
    return new Set(); // no sysfs: every line is kept below
  }
}

/** device ("254:0") → its name and counters now. */
export function readDiskstats(): Map<string, { name: string; counters: DiskCounters }> {
  const disks = wholeDisks();
  const out = new Map<string, { name: string; counters: DiskCounters }>();
  for (const line of (readText('/proc/diskstats') ?? '').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const name = f[2]!;
    if (disks.size && !disks.has(name)) continue;
    const n = f.map(Number);
    out.set(`${f[0]}:${f[1]}`, {
      name,
      counters: { reads: n[3]!, readBytes: n[5]! * SECTOR, readMs: n[6]!, writes: n[7]!, writeBytes: n[9]! * SECTOR, writeMs: n[10]!, busyMs: n[12]! },
    });
  }
  return out;
}

const mapperName = (name: string) => (name.startsWith('dm-') ? readText(`/sys/block/${name}/dm/name`)?.trim() : undefined);

/** What each disk did between two reads, windowMs apart; idle disks left out. */
export function diskActivity(before: ReturnType<typeof readDiskstats>, after: ReturnType<typeof readDiskstats>, windowMs: number): DiskActivity[] {
  const out: DiskActivity[] = [];
  for (const [device, { name, counters: end }] of after) {
    const start = before.get(device)?.counters;
    if (!start) continue; // appeared in the window: no start to count from
    const d = (k: keyof DiskCounters) => Math.max(0, end[k] - start[k]);
    const counters: DiskCounters = {
      reads: d('reads'),
      readBytes: d('readBytes'),
      readMs: d('readMs'),
      writes: d('writes'),
      writeBytes: d('writeBytes'),
      writeMs: d('writeMs'),
      busyMs: d('busyMs'),
    };
    const requests = counters.reads + counters.writes;
    if (!requests && !counters.busyMs) continue;
    const volume = mapperName(name);
    out.push({
      disk: name,
      ...(volume ? { volume } : {}),
      device,
      ...counters,
      busyShare: Math.min(1, counters.busyMs / Math.max(1, windowMs)),
      awaitMs: requests ? Math.round(((counters.readMs + counters.writeMs) / requests) * 100) / 100 : 0,
    });
  }
  return out.sort((a, b) => b.busyMs - a.busyMs);
}
