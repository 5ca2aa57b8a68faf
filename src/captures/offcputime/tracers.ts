// The tracer of a process stopped for it: /proc/PID/status's TracerPid, and
// that process as it is now, with its command line. strace or gdb left
// attached to a service stops it at every system call or signal it traces (or
// holds it at a breakpoint): the service runs many times slower, or not at
// all, while nothing about it looks busy. Read after the window.
import { readText } from '../../util/read-text.js';
import { processNow, type ProcessNow } from './process-now.js';

export interface Tracer extends ProcessNow {
  /** Its command line, cut at COMMAND_MAX characters. */
  command: string;
}

const COMMAND_MAX = 200;

/** pid's tracer, or undefined when it has none (or is gone). */
export function tracerNow(pid: number): Tracer | undefined {
  const tracerPid = Number(/^TracerPid:\s*(\d+)/m.exec(readText(`/proc/${pid}/status`) ?? '')?.[1] ?? 0);
  const now = tracerPid > 0 ? processNow(tracerPid) : undefined;
  if (!now) return undefined;
  const command = (readText(`/proc/${tracerPid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
  return { ...now, command: command.length > COMMAND_MAX ? `${command.slice(0, COMMAND_MAX)}…` : command };
}
