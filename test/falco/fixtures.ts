// Events and a host of our own for the rule engine's unit tests: what the
// sources would make from captures, without /proc (processes are given).
import type { ProcessInfo, SyscallEvent } from '../../src/model/syscall-event.js';
import type { HostInfo } from '../../src/falco/host-info.js';
import { loadRules } from '../../src/falco/load-rules.js';
import { matchEvents } from '../../src/falco/matcher.js';
import { FAILURE_ONLY_TYPES, PRODUCED_TYPES } from '../../src/falco/sources/index.js';

export function fixedHost(processes: ProcessInfo[] = [], cgroups: Record<number, string> = {}): HostInfo {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  return {
    hostname: 'test-host',
    process: (pid) => byPid.get(pid),
    userName: (uid) => ({ 0: 'root', 33: 'www-data', 1000: 'alice' })[uid],
    groupName: (gid) => ({ 0: 'root' })[gid],
    cgroupPath: (pid) => cgroups[pid] ?? (byPid.has(pid) ? '/user.slice' : undefined),
  };
}

let clock = Date.parse('2026-01-01T00:00:00Z');

export function execEvent(o: {
  pid: number;
  ppid: number;
  comm: string;
  pcomm?: string;
  filename?: string;
  argv?: string[];
  uid?: number;
  res?: number;
}): SyscallEvent {
  const filename = o.filename ?? `/usr/bin/${o.comm}`;
  const argv = o.argv ?? [o.comm];
  return {
    type: 'execve',
    timeMs: clock++,
    pid: o.pid,
    tid: o.pid,
    uid: o.uid ?? 0,
    comm: o.comm,
    res: o.res ?? 0,
    exec: { filename, argv, ppid: o.ppid, pcomm: o.pcomm ?? 'bash' },
    args: { res: o.res ?? 0, exe: argv[0]!, args: argv.slice(1).join(' '), filename },
    capture: 'execsnoop',
  };
}

export function openEvent(o: { pid: number; comm: string; path: string; flags?: number; flagNames?: string; res?: number; uid?: number }): SyscallEvent {
  const flags = o.flags ?? 0;
  const res = o.res ?? 3;
  return {
    type: 'openat',
    timeMs: clock++,
    pid: o.pid,
    tid: o.pid,
    uid: o.uid ?? 0,
    comm: o.comm,
    res,
    ...(res < 0 ? { errorName: 'ENOENT' } : {}),
    fd: {
      kind: 'file',
      path: o.path,
      flags,
      flagNames: o.flagNames ?? (flags & 1 ? 'O_WRONLY' : flags & 2 ? 'O_RDWR' : 'O_RDONLY'),
      num: res >= 0 ? res : -1,
      directory: false,
    },
    args: { name: o.path, flags: o.flagNames ?? '', fd: res, dirfd: 'AT_FDCWD' },
    capture: 'opensnoop',
  };
}

export function connectEvent(o: {
  pid: number;
  comm: string;
  remote: string;
  port: number;
  local?: string;
  res?: number;
  type?: 'connect' | 'accept';
}): SyscallEvent {
  const local = { ip: o.local ?? '10.1.1.1', port: 40000 };
  const remote = { ip: o.remote, port: o.port };
  const accept = o.type === 'accept';
  return {
    type: o.type ?? 'connect',
    timeMs: clock++,
    pid: o.pid,
    tid: o.pid,
    comm: o.comm,
    res: o.res ?? 0,
    ...(o.res && o.res < 0 ? { errorName: 'ECONNREFUSED' } : {}),
    fd: {
      kind: 'socket',
      family: o.remote.includes(':') ? 6 : 4,
      l4proto: 'tcp',
      local: accept ? { ip: local.ip, port: o.port } : local,
      remote: accept ? { ip: o.remote, port: 50000 } : remote,
      role: accept ? 'server' : 'client',
    },
    args: {},
    capture: 'tcplife',
  };
}

/** Loads rule text (one or more files) and returns the names of rules each event matched. */
export function run(files: string | string[], events: SyscallEvent[] = [], host = fixedHost()) {
  const loaded = loadRules(
    (Array.isArray(files) ? files : [files]).map((text, i) => ({ path: `rules-${i}.yaml`, text })),
    PRODUCED_TYPES,
    FAILURE_ONLY_TYPES,
  );
  const matcher = matchEvents(loaded, events, host);
  return { loaded, matcher, alerts: matcher.alerts, rules: matcher.alerts.map((a) => a.rule) };
}

/** A one-rule file with this condition and output. */
export const ruleText = (condition: string, output = 'matched %proc.name %fd.name', extra = '') =>
  `- rule: R\n  desc: test\n  condition: ${JSON.stringify(condition)}\n  output: ${JSON.stringify(output)}\n  priority: WARNING\n${extra}`;

/** Does `condition` (with these extra items before it) hold for the event? */
export function holds(condition: string, event: SyscallEvent, before = '', host?: HostInfo): boolean {
  const r = run(`${before}\n${ruleText(condition)}`, [event], host);
  const err = r.loaded.errors[0];
  if (err) throw new Error(`${err.item}: ${err.message}`);
  const status = r.loaded.statuses.find((s) => s.rule === 'R');
  if (status?.state !== 'loaded') throw new Error(`rule R is ${status?.state}: ${status?.reason}`);
  return r.rules.includes('R');
}
