// Who holds a lock a process keeps failing to take without waiting (fcntl
// F_SETLK, flock LOCK_NB: EAGAIN or EACCES). SQLite's busy handler and
// lock-file loops retry between sleeps, so /proc/locks shows no waiter for
// them, only the holder: read every 250 ms for the files such calls failed on.
import { statSync } from 'node:fs';
import { parseLocks, readLocks } from '../offcputime/file-locks.js';
import { readText } from '../../util/read-text.js';
import { LOCK_CALLS } from './file-calls.js';

export interface LockHolder {
  pid: number;
  comm: string;
  /** FLOCK, POSIX (fcntl, lockf) or OFDLCK; READ or WRITE. */
  type: string;
  mode: string;
  /** The share of /proc/locks reads that found it holding the lock. */
  heldShare: number;
}

/** A failure that says another process holds the lock. */
export const isLockBusy = (syscall: string, errno: string) => LOCK_CALLS.has(syscall) && (errno === 'EAGAIN' || errno === 'EACCES');

const SAMPLE_MS = 250;

interface Watched {
  tgid: number;
  inode: string;
  reads: number;
  holders: Map<number, { times: number; type: string; mode: string }>;
}

export class LockHolders {
  private readonly watched = new Map<string, Watched>();
  private last = 0;

  constructor(private readonly read: () => string = readLocks) {}

  /** Watches the file behind tgid's fd (matched by inode, as /proc/locks names a filesystem's own device). */
  watch(tgid: number, fd: number): void {
    const key = `${tgid}:${fd}`;
    if (this.watched.has(key)) return;
    try {
      this.watched.set(key, { tgid, inode: String(statSync(`/proc/${tgid}/fd/${fd}`).ino), reads: 0, holders: new Map() });
    } catch {
      // closed or gone: nothing to watch
    }
  }

  /** Reads /proc/locks unless it was read less than 250 ms ago. */
  poll(): void {
    const now = Date.now();
    if (!this.watched.size || now - this.last < SAMPLE_MS) return;
    this.last = now;
    const held = parseLocks(this.read()).filter((l) => !l.waiting);
    for (const w of this.watched.values()) {
      w.reads++;
      for (const lock of held) {
        if (lock.file.split(':')[2] !== w.inode || lock.pid === w.tgid || lock.pid <= 0) continue;
        const h = w.holders.get(lock.pid) ?? { times: 0, type: lock.type, mode: lock.mode };
        h.times++;
        w.holders.set(lock.pid, h);
      }
    }
  }

  /** The process seen holding the lock most often, while it runs. */
  holderOf(tgid: number, fd: number): LockHolder | undefined {
    const w = this.watched.get(`${tgid}:${fd}`);
    const [pid, h] = [...(w?.holders ?? [])].sort((a, b) => b[1].times - a[1].times)[0] ?? [];
    const comm = pid ? readText(`/proc/${pid}/comm`)?.trim() : undefined;
    if (!w || !pid || !h || !comm) return undefined;
    return { pid, comm, type: h.type, mode: h.mode, heldShare: Math.round((h.times / Math.max(1, w.reads)) * 100) / 100 };
  }
}
