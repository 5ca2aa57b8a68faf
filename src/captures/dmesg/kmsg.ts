// The kernel's log, read from /dev/kmsg: one record per read(2), each
// "PRI,SEQ,TS_USEC,FLAGS[,...];text" and " KEY=value" lines after it. A
// reader opened now starts at the oldest record the ring still holds; reads
// that find nothing new fail with EAGAIN (the file is opened non-blocking).
import { closeSync, constants, openSync, readSync } from 'node:fs';

export interface KmsgRecord {
  seq: number;
  /** Syslog level, 0 (emerg) to 7 (debug). */
  level: number;
  /** 0: the kernel; anything else was written to /dev/kmsg by a process (journald, a boot script). */
  facility: number;
  /** When it was logged, CLOCK_MONOTONIC in µs (the clock process.hrtime reads). */
  usec: number;
  text: string;
  /** "SUBSYSTEM=scsi", "DEVICE=+scsi:2:0:0:0" lines, by key. */
  dict?: Record<string, string>;
}

/** One record is at most this big (the kernel's own bound is 8 KiB: CONSOLE_EXT_LOG_MAX). */
const RECORD_BYTES = 16 * 1024;

/** "6,1234,5678901,-,caller=T1;text\n SUBSYSTEM=x\n" → a record (undefined: not that shape). */
export function parseRecord(raw: string): KmsgRecord | undefined {
  const semi = raw.indexOf(';');
  if (semi < 0) return undefined;
  const [pri, seq, usec] = raw.slice(0, semi).split(',').map(Number);
  if (!Number.isFinite(pri) || !Number.isFinite(seq) || !Number.isFinite(usec)) return undefined;
  const [text = '', ...dictLines] = raw
    .slice(semi + 1)
    .replace(/\n$/, '')
    .split('\n');
  const record: KmsgRecord = { seq: seq!, level: pri! & 7, facility: pri! >> 3, usec: usec!, text: unescape(text) };
  for (const line of dictLines) {
    const eq = line.indexOf('=');
    if (line.startsWith(' ') && eq > 0) (record.dict ??= {})[line.slice(1, eq)] = unescape(line.slice(eq + 1));
  }
  return record;
}

/** The kernel writes bytes outside printable ASCII as \xNN. */
const unescape = (s: string) => (s.includes('\\x') ? s.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))) : s);

export interface KmsgReader {
  /** Every record logged since the last call (the first: all the ring holds), at most `max`. */
  read(max: number): KmsgRecord[];
  /** Records the ring overwrote before they were read. */
  readonly lost: number;
  close(): void;
}

/** Opens /dev/kmsg (root, or CAP_SYSLOG when kernel.dmesg_restrict is 1); throws with the reason when it cannot. */
export function openKmsg(path = '/dev/kmsg'): KmsgReader {
  let fd: number | undefined = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const buffer = Buffer.alloc(RECORD_BYTES);
  let lost = 0;
  let lastSeq: number | undefined;
  return {
    read(max) {
      const records: KmsgRecord[] = [];
      while (fd !== undefined && records.length < max) {
        let n: number;
        try {
          n = readSync(fd, buffer, 0, buffer.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EPIPE') continue; // overwritten: the next read goes on from the oldest record left (seq says how many)
          if (code === 'EAGAIN' || code === 'EINTR') break;
          throw err;
        }
        if (n <= 0) break;
        const record = parseRecord(buffer.toString('utf8', 0, n));
        if (!record) continue;
        if (lastSeq !== undefined && record.seq > lastSeq + 1) lost += record.seq - lastSeq - 1;
        lastSeq = record.seq;
        records.push(record);
      }
      return records;
    },
    get lost() {
      return lost;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
