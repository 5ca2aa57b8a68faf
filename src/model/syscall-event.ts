// The syscall events Falco rules are matched against (src/falco/): one shape
// for every capture (a capture that makes them says so in its definition,
// syscallEvents), close to what Falco's libs see at a syscall's exit (evt.dir "<").

/** A process as far as Sherlock knows it: from exec events, else from /proc while it lives. */
export interface ProcessInfo {
  pid: number;
  ppid?: number;
  /** comm: at most 15 characters, as the kernel keeps it. */
  name: string;
  exepath?: string;
  /** argv, argv[0] included. */
  argv?: string[];
  uid?: number;
  gid?: number;
  loginuid?: number;
  tty?: number;
  sid?: number;
  cwd?: string;
  /** When it exec'd (ms since the epoch), for proc.duration. */
  startMs?: number;
  /** Its cgroup id (v2 inode number) as the captures report it. */
  cgroupId?: string;
}

export interface FileFd {
  kind: 'file';
  path: string;
  /** open(2) flags as passed; absent when the source does not know them (a failure counted in the kernel). */
  flags?: number;
  /** "O_RDONLY|O_CLOEXEC". */
  flagNames?: string;
  /** The fd returned, or -1 when the open failed (as Falco reports it). */
  num: number;
  mode?: string;
  directory: boolean;
}

export interface SocketFd {
  kind: 'socket';
  family: 4 | 6;
  l4proto: 'tcp' | 'udp';
  local: { ip: string; port: number };
  remote: { ip: string; port: number };
  /** Which side this process is: the client made the connect, the server accepted it. */
  role: 'client' | 'server';
  num?: number;
}

export interface SyscallEvent {
  /** Falco's syscall name: execve, openat, connect, accept, kill, ... (or event name: signaldeliver, procexit) */
  type: string;
  /** evt.dir: "<" (a syscall's exit, with its enter's arguments; the default) or ">" (Falco's enter-only events: signaldeliver, procexit). */
  dir?: '<' | '>';
  /** Wall time in ms since the epoch. */
  timeMs: number;
  pid: number;
  tid?: number;
  uid?: number;
  /** comm of the calling task at the event, when the capture says it. */
  comm?: string;
  cgroupId?: string;
  /** 0 or more on success, -errno on failure (evt.rawres). */
  res: number;
  /** The errno name when res < 0 ("ENOENT"). */
  errorName?: string;
  fd?: FileFd | SocketFd;
  /** What an exec made: the process it is after exec (the engine's process table takes it in). */
  exec?: { filename: string; argv: string[]; ppid: number; pcomm: string };
  /** evt.arg.<name> values known for this event. */
  args: Record<string, string | number>;
  /** The capture it came from, for findings. */
  capture: string;
}

/** An event as a capture makes it; the matcher adds which capture. */
export type SyscallEventInput = Omit<SyscallEvent, 'capture'>;

/**
 * One capture's stored result → its events, read as they are made (a spooled
 * result streams from disk): a complete source's in the capture's own order
 * (time order, near enough), a summary's in any order (they are sorted).
 */
export type EventSource = (data: Record<string, unknown>) => Iterable<SyscallEventInput>;

/** What a capture declares to feed Falco rules (CaptureDefinition.syscallEvents). */
export interface SyscallEventSource {
  /** evt.type values it makes. */
  types: readonly string[];
  events: EventSource;
  /** Its events are every one of their kind in the window; a source without it (a summary) gives way where they overlap. */
  complete?: boolean;
  /** It sees calls only when they fail, mostly without their fd (syscallerrors: a file's only): see CompileEnv.failureOnlyTypes. */
  failuresOnly?: boolean;
}

/** Where an event goes among those of the same millisecond: an exec before what the program it made did, a process's end after. */
const tieRank = (e: SyscallEvent) => (e.exec ? 0 : e.type === 'procexit' ? 2 : 1);

/**
 * Events in time order. Captures stamp in milliseconds, and a program execs, opens its file and ends within one:
 * an exec first (proc.* of the events after it are the program it made), a process's end last.
 */
export const byEventTime = (a: SyscallEvent, b: SyscallEvent): number => a.timeMs - b.timeMs || tieRank(a) - tieRank(b);
