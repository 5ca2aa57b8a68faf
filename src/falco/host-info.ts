// What /proc and /etc tell about processes and users that the events do not:
// read at match time, for processes still alive, each pid and uid once.
// A process that is gone reads as undefined (its fields read as <NA>).
import { readFileSync, readlinkSync } from 'node:fs';
import type { ProcessInfo } from '../model/syscall-event.js';
import { statFields } from '../util/process-stat.js';

export interface HostInfo {
  process(pid: number): ProcessInfo | undefined;
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
  /** The cgroup path of a live process (v2 line, else the first v1 line). */
  cgroupPath(pid: number): string | undefined;
  hostname: string;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

function parseIdFile(text: string | undefined): Map<number, string> {
  const byId = new Map<number, string>();
  for (const line of (text ?? '').split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && !byId.has(Number(id))) byId.set(Number(id), name);
  }
  return byId;
}

export function liveHostInfo(hostname: string, procRoot = '/proc'): HostInfo {
  let users: Map<number, string> | undefined;
  let groups: Map<number, string> | undefined;
  const processes = new Map<number, ProcessInfo | undefined>();
  return {
    hostname,
    process(pid) {
      if (processes.has(pid)) return processes.get(pid);
      const info = readProcess(procRoot, pid);
      processes.set(pid, info);
      return info;
    },
    userName(uid) {
      users ??= parseIdFile(read('/etc/passwd'));
      return users.get(uid);
    },
    groupName(gid) {
      groups ??= parseIdFile(read('/etc/group'));
      return groups.get(gid);
    },
    cgroupPath(pid) {
      const lines = (read(`${procRoot}/${pid}/cgroup`) ?? '').split('\n').filter(Boolean);
      const v2 = lines.find((l) => l.startsWith('0::'));
      const line = v2 ?? lines[0];
      return line?.split(':').slice(2).join(':');
    },
  };
}

function readProcess(procRoot: string, pid: number): ProcessInfo | undefined {
  if (!(pid > 0)) return undefined;
  const status = read(`${procRoot}/${pid}/status`);
  if (!status) return undefined;
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1];
  const stat = statFields(pid);
  const cmdline = read(`${procRoot}/${pid}/cmdline`);
  const argv = cmdline ? cmdline.split('\0').filter((a, i, all) => i < all.length - 1 || a !== '') : undefined;
  const link = (name: string) => {
    try {
      return readlinkSync(`${procRoot}/${pid}/${name}`);
    } catch {
      return undefined;
    }
  };
  const loginuid = Number(read(`${procRoot}/${pid}/loginuid`));
  return {
    pid,
    name: field('Name') ?? '',
    ppid: Number(field('PPid')),
    uid: Number(field('Uid')?.split(/\s+/)[0]),
    gid: Number(field('Gid')?.split(/\s+/)[0]),
    ...(Number.isFinite(loginuid) ? { loginuid: loginuid === 4294967295 ? -1 : loginuid } : {}),
    ...(stat ? { sid: Number(stat[3]), tty: Number(stat[4]) } : {}),
    ...(argv?.length ? { argv } : {}),
    exepath: link('exe')?.replace(/ \(deleted\)$/, ''),
    cwd: link('cwd'),
  };
}

/**
 * The container a cgroup path names (docker, containerd/CRI, podman/libpod,
 * crio): the first 12 hex digits of its id, as Falco shows it; undefined for
 * a host cgroup.
 */
export function containerIdOf(cgroupPath: string): string | undefined {
  const m =
    /(?:docker|cri-containerd|crio|libpod|containerd)[-/]([0-9a-f]{64})(?:\.scope)?/.exec(cgroupPath) ??
    /\/(?:kubepods|docker|lxc)[^\n]*\/([0-9a-f]{64})/.exec(cgroupPath);
  return m ? m[1]!.slice(0, 12) : undefined;
}
