// libbpf finds tracepoint ids under tracefs. Minimal VMs often boot without it
// mounted, so we mount it once when we can (root), as perf and bpftrace do.
import { existsSync } from 'node:fs';
import { errnoName, NotSupportedError } from './errors.js';
import { lastErrno, lib } from './native.js';

const TRACEFS = '/sys/kernel/tracing';
const DEBUGFS_TRACING = '/sys/kernel/debug/tracing';

/** The directory holding events/, mounting tracefs if needed. */
export function tracingRoot(): string {
  for (const dir of [TRACEFS, DEBUGFS_TRACING]) {
    if (existsSync(`${dir}/events`)) return dir;
  }
  if (lib().mount('nodev', TRACEFS, 'tracefs', 0, null) === 0 && existsSync(`${TRACEFS}/events`)) return TRACEFS;
  throw new NotSupportedError('tracefs', `is not mounted and could not be mounted at ${TRACEFS} (${errnoName(lastErrno())})`);
}

/** Does the kernel have this tracepoint ("syscalls", "sys_enter_execve")? */
export function hasTracepoint(category: string, name: string): boolean {
  return existsSync(`${tracingRoot()}/events/${category}/${name}/id`);
}

/** kprobes need CONFIG_KPROBE_EVENTS; the control file exists only with it. */
export function hasKprobes(): boolean {
  return existsSync(`${tracingRoot()}/kprobe_events`) || existsSync('/sys/bus/event_source/devices/kprobe');
}
