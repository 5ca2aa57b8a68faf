// A HotSpot JVM's performance counters: the file it maps at
// /tmp/hsperfdata_<user>/<pid> (on unless -XX:-UsePerfData), which jstat
// reads. A prologue (magic 0xcafec0c0, byte order, where the entries start,
// how many), then entries: a name, a type ('J' a 64-bit number, 'B' bytes: a
// string) and the value. Read without attaching to the JVM: no safepoint, no
// thread of its own, whatever state it is in.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAGIC = 0xcafec0c0;
const PROLOGUE_BYTES = 32;
const ENTRY_HEADER_BYTES = 20;
/** A counters file is 32 KiB by default (-XX:PerfDataMemorySize); one far larger is not one. */
const MAX_FILE_BYTES = 1 << 20;

export type PerfCounters = Map<string, number | string>;

/** The counters in `bytes`, undefined when it is not a counters file (or a truncated one). */
export function parsePerfData(bytes: Buffer): PerfCounters | undefined {
  if (bytes.length < PROLOGUE_BYTES || bytes.readUInt32BE(0) !== MAGIC) return undefined;
  const little = bytes[4] === 1;
  const int = (at: number) => (little ? bytes.readInt32LE(at) : bytes.readInt32BE(at));
  const long = (at: number) => Number(little ? bytes.readBigInt64LE(at) : bytes.readBigInt64BE(at));
  const counters: PerfCounters = new Map();
  let at = int(24);
  const entries = int(28);
  for (let i = 0; i < entries && at + ENTRY_HEADER_BYTES <= bytes.length; i++) {
    const [length, nameOffset, vectorLength, dataOffset] = [int(at), int(at + 4), int(at + 8), int(at + 16)];
    const type = String.fromCharCode(bytes[at + 12]!);
    if (length <= 0 || at + length > bytes.length) break;
    const nameEnd = bytes.indexOf(0, at + nameOffset);
    if (nameEnd < 0 || nameEnd > at + length) break;
    const name = bytes.toString('latin1', at + nameOffset, nameEnd);
    const data = at + dataOffset;
    if (type === 'J' && vectorLength === 0 && data + 8 <= at + length) counters.set(name, long(data));
    else if (type === 'B' && vectorLength > 0 && data + vectorLength <= at + length) {
      const end = bytes.indexOf(0, data);
      counters.set(name, bytes.toString('utf8', data, end < 0 || end > data + vectorLength ? data + vectorLength : end));
    }
    at += length;
  }
  return counters;
}

/** The counters file of each JVM on this host's /tmp (any user's), by pid: one listing for all of them. */
export function perfDataFiles(tmp = '/tmp'): Map<number, string> {
  const files = new Map<number, string>();
  const dirs = (path: string, keep: (name: string) => boolean) => {
    try {
      return readdirSync(path).filter(keep);
    } catch {
      return []; // no /tmp, or a directory gone meanwhile
    }
  };
  for (const dir of dirs(tmp, (d) => d.startsWith('hsperfdata_')))
    for (const name of dirs(join(tmp, dir), (n) => /^\d+$/.test(n))) files.set(Number(name), join(tmp, dir, name));
  return files;
}

/** The counters in one JVM's file, undefined when it is gone or is no counters file. */
export function readPerfDataFile(path: string): PerfCounters | undefined {
  try {
    const bytes = readFileSync(path);
    return bytes.length <= MAX_FILE_BYTES ? parsePerfData(bytes) : undefined;
  } catch {
    return undefined; // its JVM ended
  }
}
