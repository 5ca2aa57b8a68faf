// Who each event's process is, and its ancestors: built from the exec
// events in time order (a process is what its last exec made it), filled in
// from /proc for processes that were already running and are still alive.
import { containerIdOf, type HostInfo } from './host-info.js';
import type { ProcessInfo, SyscallEvent } from '../model/syscall-event.js';

/** Ancestors looked at for proc.aname and proc.apid without an index, as Falco bounds its walk. */
export const MAX_ANCESTORS = 32;

/** Processes remembered at most; past it the longest-unseen are forgotten (a long window with many short-lived ones). */
export const MAX_PROCESSES = 50_000;

export class ProcessTable {
  private readonly byPid = new Map<number, ProcessInfo>();
  private readonly containers = new Map<number, string | null>();

  constructor(readonly host: HostInfo) {}

  /** A process that ended (procexit). */
  forget(pid: number): void {
    this.byPid.delete(pid);
    this.containers.delete(pid);
  }

  private remember(info: ProcessInfo): void {
    this.byPid.delete(info.pid); // re-inserted: Map order is then least recently set first
    this.byPid.set(info.pid, info);
    if (this.byPid.size <= MAX_PROCESSES) return;
    const oldest = this.byPid.keys().next().value!;
    this.forget(oldest);
  }

  /** Takes in what an exec made (call before matching the exec's own event: proc.* is the new program). */
  noteExec(ev: SyscallEvent): ProcessInfo | undefined {
    if (!ev.exec || ev.res < 0) return this.of(ev);
    const live = this.host.process(ev.pid);
    // Same program (a pid reused since would be another one): /proc adds what the event lacks.
    const same = live && (!live.exepath || live.exepath === ev.exec.filename || live.name === ev.comm) ? live : undefined;
    if (!this.byPid.has(ev.exec.ppid) && !this.host.process(ev.exec.ppid) && ev.exec.ppid > 0) {
      // The forked child held its parent's comm until exec: the best name the parent has.
      this.remember({ pid: ev.exec.ppid, name: ev.exec.pcomm });
    }
    const info: ProcessInfo = {
      ...(same ?? {}),
      pid: ev.pid,
      ppid: ev.exec.ppid,
      name: ev.comm ?? same?.name ?? '',
      exepath: ev.exec.filename,
      argv: ev.exec.argv,
      ...(ev.uid !== undefined ? { uid: ev.uid } : {}),
      startMs: ev.timeMs,
      ...(ev.cgroupId ? { cgroupId: ev.cgroupId } : {}),
    };
    this.remember(info);
    this.containers.delete(ev.pid);
    return info;
  }

  /** The event's process: known from an exec, else from /proc, else what the event itself says. */
  of(ev: SyscallEvent): ProcessInfo | undefined {
    const known = this.get(ev.pid);
    if (known) return known;
    if (!ev.pid) return undefined;
    const stub: ProcessInfo = {
      pid: ev.pid,
      name: ev.comm ?? '',
      ...(ev.uid !== undefined ? { uid: ev.uid } : {}),
      ...(ev.cgroupId ? { cgroupId: ev.cgroupId } : {}),
    };
    this.remember(stub);
    return stub;
  }

  get(pid: number | undefined): ProcessInfo | undefined {
    if (pid === undefined || !(pid > 0)) return undefined;
    const known = this.byPid.get(pid);
    if (known) return known;
    const live = this.host.process(pid);
    if (live) this.remember(live);
    return live;
  }

  /** The Nth ancestor (0 = the process itself, 1 = its parent). */
  ancestor(proc: ProcessInfo | undefined, n: number): ProcessInfo | undefined {
    let p = proc;
    for (let i = 0; i < n && p; i++) {
      if (p.ppid === undefined || p.ppid === p.pid || !(p.ppid > 0)) return undefined;
      p = this.get(p.ppid);
    }
    return p;
  }

  /** Its ancestors from the parent up (at most MAX_ANCESTORS). */
  ancestors(proc: ProcessInfo | undefined): ProcessInfo[] {
    const out: ProcessInfo[] = [];
    for (let p = this.ancestor(proc, 1); p && out.length < MAX_ANCESTORS; p = this.ancestor(p, 1)) out.push(p);
    return out;
  }

  /**
   * "host", a container id, or undefined when unknown: from the process's
   * cgroup while it lives, else from the nearest live ancestor known to share
   * its cgroup.
   */
  containerId(proc: ProcessInfo | undefined): string | undefined {
    if (!proc) return undefined;
    const cached = this.containers.get(proc.pid);
    if (cached !== undefined) return cached ?? undefined;
    let found: string | undefined;
    let p: ProcessInfo | undefined = proc;
    for (let depth = 0; p && depth < 8; depth++, p = this.ancestor(p, 1)) {
      const sameCgroup =
        p === proc || (p.cgroupId !== undefined && p.cgroupId === proc.cgroupId) || (depth === 1 && (p.cgroupId === undefined || proc.cgroupId === undefined));
      if (!sameCgroup) break;
      const path = this.host.cgroupPath(p.pid);
      if (path === undefined) continue;
      found = containerIdOf(path) ?? 'host';
      break;
    }
    this.containers.set(proc.pid, found ?? null);
    return found;
  }
}
