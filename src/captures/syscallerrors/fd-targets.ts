// What a failing call's fd pointed to: a file (readlink /proc/PID/fd/N), a
// pipe, a socket (its addresses as the kernel saw them when the row was made:
// a reset or closed TCP socket is gone from /proc/net/tcp by then), or
// nothing any more. Best effort, looked up while the capture runs (each
// (pid, fd) once, soon after its first failure) and at its end; a file that
// ran out of space also gets its filesystem, what is free on it, and what
// deleted files still open hold there (df counts them, du does not).
import { readFileSync, readlinkSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { deletedOpenFiles, type DeletedOpen } from '../deleted-open-files.js';
import { parseMountInfo } from '../../util/mountinfo.js';
import type { SocketEnds } from './decode.js';
import { ROOM_ERRNOS } from './errnos.js';

export interface Filesystem {
  mountPoint: string;
  type: string;
  source: string;
  /** major:minor, as mountinfo gives it. */
  device?: string;
  sizeBytes?: number;
  /** Free to unprivileged users (f_bavail), as df shows it. */
  freeBytes?: number;
  freeInodes?: number;
  /** Space held by files deleted but still open, and the largest of them with a holder each. */
  deletedOpen?: DeletedOpen;
}

/** `name` is what a title shows ("/var/log/app.log", "TCP 10.0.0.5:6379", "fd 3, closed before the capture ended" without the fd). */
export type FdTarget =
  | { kind: 'file'; name: string; deleted?: boolean; filesystem?: Filesystem }
  | { kind: 'socket'; name: string; protocol: 'tcp' | 'udp' | 'unix' | 'other'; family?: 4 | 6; local?: string; remote?: string }
  | { kind: 'pipe' | 'other'; name: string }
  | { kind: 'gone'; name: string };

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;

const address = (a: { ip: string; port: number }) => (a.ip.includes(':') ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`);

/** An inet socket from the kernel's record: by its peer, or (unconnected, listening) by its own address. */
export function socketTarget(s: SocketEnds): FdTarget {
  const protocol = s.protocol === IPPROTO_TCP ? 'tcp' : s.protocol === IPPROTO_UDP ? 'udp' : 'other';
  const label = protocol === 'other' ? `IPv${s.family} socket` : protocol.toUpperCase();
  const connected = s.remote.port !== 0;
  return {
    kind: 'socket',
    protocol,
    family: s.family,
    name: connected ? `${label} ${address(s.remote)}` : s.local.port ? `${label} socket ${address(s.local)}` : `an unbound ${label} socket`,
    local: address(s.local),
    ...(connected ? { remote: address(s.remote) } : {}),
  };
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** What /proc says fd is in pid now. */
export function procFdTarget(pid: number, fd: number): FdTarget {
  let link: string;
  try {
    link = readlinkSync(`/proc/${pid}/fd/${fd}`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      const alive = read(`/proc/${pid}/stat`) !== undefined;
      return { kind: 'gone', name: alive ? 'closed before the capture ended' : 'its process ended before the capture did' };
    }
    return { kind: 'gone', name: `unreadable (${code ?? String(err)})` };
  }
  if (link.startsWith('/')) {
    const deleted = link.endsWith(' (deleted)');
    return { kind: 'file', name: deleted ? link.slice(0, -' (deleted)'.length) : link, ...(deleted ? { deleted } : {}) };
  }
  const inode = /^(pipe|socket):\[(\d+)\]$/.exec(link);
  if (inode?.[1] === 'pipe') return { kind: 'pipe', name: 'a pipe' };
  if (inode?.[1] === 'socket') {
    const path = unixSocketPath(pid, inode[2]!);
    return { kind: 'socket', protocol: path === undefined ? 'other' : 'unix', name: path ? `Unix socket ${path}` : path === '' ? 'a Unix socket' : 'a socket' };
  }
  return { kind: 'other', name: link };
}

/** The bound path of a Unix socket ('' when unbound), or undefined when it is not one. */
function unixSocketPath(pid: number, inode: string): string | undefined {
  for (const line of (read(`/proc/${pid}/net/unix`) ?? '').split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path
    const f = line.trim().split(/\s+/);
    if (f[6] === inode) return f[7] ?? '';
  }
  return undefined;
}

/** The mount holding path in pid's mount namespace (the longest mount point over it), with its free space. */
export function filesystemOf(pid: number, path: string): Filesystem | undefined {
  let best: Filesystem | undefined;
  for (const { mountPoint, fstype: type, source, device } of parseMountInfo(read(`/proc/${pid}/mountinfo`) ?? '')) {
    if (!type || !within(path, mountPoint)) continue;
    if (!best || mountPoint.length >= best.mountPoint.length) best = { mountPoint, type, source, ...(device ? { device } : {}) };
  }
  if (!best) return undefined;
  try {
    const s = statfsSync(`/proc/${pid}/root${best.mountPoint}`);
    return { ...best, sizeBytes: s.blocks * s.bsize, freeBytes: s.bavail * s.bsize, freeInodes: s.ffree };
  } catch {
    return best;
  }
}

/** A call's path as the process meant it: relative ones from its working directory (an *at call's own directory is not known). */
export function absolutePath(pid: number, path: string): string {
  if (path.startsWith('/')) return path;
  try {
    return join(readlinkSync(`/proc/${pid}/cwd`), path);
  } catch {
    return join('/', path); // gone: the mount holding its root at least
  }
}

const within = (path: string, dir: string) => dir === '/' || path === dir || path.startsWith(`${dir}/`);

/** Each (pid, fd) once: the first look is the closest to the failure. */
export class FdTargets {
  private readonly seen = new Map<string, FdTarget>();
  /** Filesystems found out of room, by device: their deleted-but-open files are looked for once, at the end. */
  private readonly rooms = new Map<string, Filesystem[]>();

  resolve(pid: number, fd: number, socket: SocketEnds | undefined, errno: string): FdTarget {
    const id = `${pid}:${fd}`;
    let target = this.seen.get(id);
    if (!target) {
      target = socket ? socketTarget(socket) : procFdTarget(pid, fd);
      // EBADF on an fd not open now: most likely it was never open (an fd open now may be of the wrong mode).
      if (target.kind === 'gone' && errno === 'EBADF' && target.name.startsWith('closed')) target = { kind: 'gone', name: 'not an open fd' };
      this.seen.set(id, target);
    }
    if (target.kind === 'file' && !target.filesystem && ROOM_ERRNOS.has(errno)) {
      const fs = this.roomAt(pid, target.name);
      if (fs) target.filesystem = fs;
    }
    return target;
  }

  /** The filesystem holding `path` in pid's mount namespace, with what is free and what deleted files still open hold there. */
  roomAt(pid: number, path: string): Filesystem | undefined {
    const fs = filesystemOf(pid, path);
    if (fs?.device) this.rooms.set(fs.device, [...(this.rooms.get(fs.device) ?? []), fs]);
    return fs;
  }

  /** What deleted files still open hold on the filesystems out of room: one read of every process's descriptors, after the window (not while events drain). */
  addDeletedOpen(): void {
    for (const [device, held] of deletedOpenFiles(new Set(this.rooms.keys()))) for (const fs of this.rooms.get(device)!) fs.deletedOpen = held;
  }

  has(pid: number, fd: number): boolean {
    return this.seen.has(`${pid}:${fd}`);
  }
}
