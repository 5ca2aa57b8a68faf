// libbpf finds tracepoint ids under tracefs. Minimal VMs often boot without it
// mounted, so we mount it once when we can (root), as perf and bpftrace do.
import { existsSync } from 'node:fs';
import { errnoName, NotSupportedError } from './errors.js';
import { lastErrno, lib } from './native.js';

const TRACEFS = '/sys/kernel/tracing';
const DEBUGFS_TRACING = '/sys/kernel/debug/tracing';

// Found once (a capture start asks for every attach point; each lookup in
// tracefs costs ~0.1 ms on the event loop). Tracepoints do not go away while
// we run, short of a module unload, which then fails that one attach.
let root: string | undefined;
const tracepointsSeen = new Set<string>();

/** The directory holding events/, mounting tracefs if needed. */
export function tracingRoot(): string {
  if (root && existsSync(`${root}/events`)) return root;
  for (const dir of [TRACEFS, DEBUGFS_TRACING]) {
    if (existsSync(`${dir}/events`)) return (root = dir);
  }
  if (lib().mount('nodev', TRACEFS, 'tracefs', 0, null) === 0 && existsSync(`${TRACEFS}/events`)) return (root = TRACEFS);
  throw new NotSupportedError('tracefs', `is not mounted and could not be mounted at ${TRACEFS} (${errnoName(lastErrno())})`);
}

/** Does the kernel have this tracepoint ("syscalls", "sys_enter_execve")? */
export function hasTracepoint(category: string, name: string): boolean {
  const key = `${category}/${name}`;
  if (tracepointsSeen.has(key)) return true;
  const found = existsSync(`${tracingRoot()}/events/${key}/id`);
  if (found) tracepointsSeen.add(key);
  return found;
}

/** kprobes need CONFIG_KPROBE_EVENTS; the control file exists only with it. */
export function hasKprobes(): boolean {
  return existsSync(`${tracingRoot()}/kprobe_events`) || existsSync('/sys/bus/event_source/devices/kprobe');
}
