// Who holds the file lock a process waits for: /proc/locks lists every lock
// with the process that holds it, and under it (" -> ") the processes blocked
// on it. A lock file held for seconds by a backup, a cron job or a stuck
// process stalls everything that takes it.
import { statSync } from 'node:fs';
import { readText } from '../../util/read-text.js';
import { fdLinks, processNow, type ProcessNow } from './process-now.js';

export interface LockWait {
  /** FLOCK, POSIX (fcntl, lockf) or OFDLCK (open file description locks). */
  type: string;
  /** READ or WRITE: what the holder has. */
  mode: string;
  /** The locked file's path, when one of the waiter's descriptors points to it. */
  path?: string;
  /** "fe:00:2146538": device and inode, as /proc/locks names it. */
  file: string;
  /** The holder, when /proc/locks names one (an OFD lock names none) and it still runs. */
  holder?: ProcessNow;
  /** Times it was seen waiting for this lock (reads of /proc/locks 250 ms apart). */
  seen: number;
}

interface LockLine {
  id: string;
  waiting: boolean;
  type: string;
  mode: string;
  pid: number;
  file: string;
}

/** "1: -> FLOCK  ADVISORY  WRITE 2705 fe:00:2146538 0 EOF" */
const LINE = /^(\d+): (-> )?(\S+)\s+\S+\s+(\S+)\s+(-?\d+)\s+([0-9a-f]+:[0-9a-f]+:\d+)/;

export function parseLocks(text: string): LockLine[] {
  return text.split('\n').flatMap((line) => {
    const m = LINE.exec(line);
    return m ? [{ id: m[1]!, waiting: Boolean(m[2]), type: m[3]!, mode: m[4]!, pid: Number(m[5]), file: m[6]! }] : [];
  });
}

/** How often /proc/locks is read while the capture runs. */
const SAMPLE_MS = 250;

/**
 * Who blocked whom on file locks over the window: /proc/locks read every 250 ms
 * (a lock held for a second at a time is caught in the act; at the end alone
 * it may have just been let go), each waiter's most often seen holder kept.
 */
export class LockWaitSampler {
  private readonly seen = new Map<number, Map<string, { lock: LockLine; holder?: ProcessNow; times: number }>>();
  private last = 0;

  constructor(private readonly read: () => string = readLocks) {}

  /** Reads /proc/locks unless it was read less than 250 ms ago (or `force`). */
  poll(force = false): void {
    const now = Date.now();
    if (!force && now - this.last < SAMPLE_MS) return;
    this.last = now;
    const text = this.read();
    if (!text.includes('->')) return; // nobody waits
    const lines = parseLocks(text);
    const held = new Map(lines.filter((l) => !l.waiting).map((l) => [l.id, l]));
    for (const wait of lines) {
      const lock = wait.waiting ? held.get(wait.id) : undefined;
      if (!lock) continue;
      let byHolder = this.seen.get(wait.pid);
      if (!byHolder) this.seen.set(wait.pid, (byHolder = new Map()));
      const key = `${lock.pid}\0${lock.file}`;
      const entry = byHolder.get(key);
      if (entry) entry.times++;
      else {
        const holder = lock.pid > 0 ? processNow(lock.pid) : undefined;
        byHolder.set(key, { lock, ...(holder ? { holder } : {}), times: 1 });
      }
    }
  }

  /** The locks pid was seen waiting for, most seen first, each with its holder (as first seen) and the file's path. */
  waitsOf(pid: number): LockWait[] {
    return [...(this.seen.get(pid)?.values() ?? [])]
      .sort((a, b) => b.times - a.times)
      .map(({ lock, holder, times }) => {
        const path = pathOf(pid, lock.file) ?? (holder ? pathOf(holder.pid, lock.file) : undefined);
        return { type: lock.type, mode: lock.mode, file: lock.file, ...(path ? { path } : {}), ...(holder ? { holder } : {}), seen: times };
      });
  }
}

/** The kernel's lock table (empty when it cannot be read). */
export const readLocks = () => readText('/proc/locks') ?? '';

/**
 * The path of pid's descriptor on the locked file's inode. Matched on the inode alone: /proc/locks names a
 * filesystem's own device, which stat does not always give (btrfs subvolumes, overlays).
 */
function pathOf(pid: number, file: string): string | undefined {
  const inode = file.split(':')[2];
  for (const { fd, link } of fdLinks(pid)) {
    try {
      if (String(statSync(`/proc/${pid}/fd/${fd}`).ino) === inode) return link;
    } catch {
      // closed meanwhile
    }
  }
  return undefined;
}
