// The Falco fields Sherlock fills, each with its type and how it is read from
// an event. A field missing here is "not available": a rule that needs it is
// loaded disabled, with that reason. A field that exists but has no value for
// an event (fd.name of an exec, user.loginuid of a process that is gone)
// reads as undefined, and a check on it is false, as in Falco.
import { posix } from 'node:path';
import type { ProcessInfo, SocketFd, SyscallEvent } from '../model/syscall-event.js';
import type { ProcessTable } from './process-table.js';

export type FieldType = 'string' | 'number' | 'bool' | 'ip' | 'ipnet';
export type FieldValue = string | number | boolean | undefined | string[] | number[];

export interface FieldContext {
  ev: SyscallEvent;
  proc: ProcessInfo | undefined;
  table: ProcessTable;
  /** evt.num: the event's number in this run, from 1. */
  num: number;
  /** Sub-expression results already computed for this event (compile.ts). */
  memo?: EventMemo;
}

/** Per-event results of sub-expressions: valid where stamp[slot] is the event's number. */
export interface EventMemo {
  stamp: Float64Array;
  value: Uint8Array;
}

export interface FieldDef {
  type: FieldType;
  /** index: field[N] (numeric); name: field[text] or field.text. */
  arg?: 'index' | 'name';
  /** The argument may be left out (proc.aname: any ancestor). */
  argOptional?: boolean;
  /** Without an argument it yields many values and a check holds when one of them matches. */
  multiWithoutArg?: boolean;
  extract(c: FieldContext, arg?: string): FieldValue;
}

const sock = (c: FieldContext): SocketFd | undefined => (c.ev.fd?.kind === 'socket' ? c.ev.fd : undefined);
const file = (c: FieldContext) => (c.ev.fd?.kind === 'file' ? c.ev.fd : undefined);
const server = (s: SocketFd) => (s.role === 'client' ? s.remote : s.local);
const client = (s: SocketFd) => (s.role === 'client' ? s.local : s.remote);
const hostPort = (ip: string, port: number) => (ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`);
const tuple = (s: SocketFd) => `${hostPort(client(s).ip, client(s).port)}->${hostPort(server(s).ip, server(s).port)}`;

/** Falco's proc.exe: argv[0] as the program was started. */
const exeOf = (p: ProcessInfo | undefined) => p?.argv?.[0] ?? p?.exepath;
const argsOf = (p: ProcessInfo | undefined) => (p?.argv ? p.argv.slice(1).join(' ') : undefined);
const cmdlineOf = (p: ProcessInfo | undefined) => {
  if (!p) return undefined;
  const args = argsOf(p);
  return args ? `${p.name} ${args}` : p.name;
};
const nameOf = (p: ProcessInfo | undefined) => (p ? p.name || undefined : undefined);

function index(arg: string | undefined): number | undefined {
  if (arg === undefined) return undefined;
  const n = Number(arg);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** proc.aname[N]-like fields: the Nth ancestor (0 = itself), or every ancestor from the parent up. */
function ancestry(pick: (p: ProcessInfo) => string | number | undefined, type: 'string' | 'number'): FieldDef {
  return {
    type,
    arg: 'index',
    argOptional: true,
    multiWithoutArg: true,
    extract(c, arg) {
      if (arg === undefined) {
        const values = c.table
          .ancestors(c.proc)
          .map(pick)
          .filter((v) => v !== undefined && v !== '');
        return values as string[] | number[];
      }
      const p = c.table.ancestor(c.proc, index(arg) ?? -1);
      return p ? pick(p) : undefined;
    },
  };
}

const parent = (c: FieldContext) => c.table.ancestor(c.proc, 1);
const host = (c: FieldContext) => c.table.containerId(c.proc) === 'host';
const inContainer = (c: FieldContext) => {
  const id = c.table.containerId(c.proc);
  return id !== undefined && id !== 'host';
};

/** evt.arg names Sherlock fills, per event kind; others are not available. */
export const KNOWN_ARGS = [
  'res',
  'fd',
  'name',
  'flags',
  'mode',
  'dirfd',
  'exe',
  'args',
  'filename',
  'pid',
  'ptid',
  'comm',
  'uid',
  'tuple',
  // signals: kill/tgkill, signaldeliver, procexit
  'sig',
  'tid',
  'spid',
  'dpid',
  'status',
  'ret',
  'core',
  // syscallerrors: the path argument under Falco's name for it per syscall
  'path',
  'oldpath',
  'linkpath',
  'pathname',
  'dir',
] as const;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function timeOfDay(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000000`;
}

const rawArg = (c: FieldContext, arg: string | undefined) => (arg === undefined ? undefined : (c.ev.args[arg] as string | number | undefined));

/** Falco renders evt.arg.* as text (evt.arg.ret = 3 compares "3"); evt.rawarg.* keeps the value. */
const evtArg: FieldDef = {
  type: 'string',
  arg: 'name',
  extract: (c, arg) => {
    const v = rawArg(c, arg);
    return v === undefined ? undefined : String(v);
  },
};

export const FIELDS: Record<string, FieldDef> = {
  'evt.type': { type: 'string', extract: (c) => c.ev.type },
  'syscall.type': { type: 'string', extract: (c) => c.ev.type },
  'evt.dir': { type: 'string', extract: (c) => c.ev.dir ?? '<' },
  'evt.num': { type: 'number', extract: (c) => c.num },
  'evt.source': { type: 'string', extract: () => 'syscall' },
  'evt.time': { type: 'string', extract: (c) => timeOfDay(c.ev.timeMs) },
  'evt.time.s': { type: 'string', extract: (c) => timeOfDay(c.ev.timeMs).slice(0, 8) },
  'evt.time.iso8601': { type: 'string', extract: (c) => new Date(c.ev.timeMs).toISOString() },
  'evt.datetime': { type: 'string', extract: (c) => new Date(c.ev.timeMs).toISOString().replace('T', ' ').slice(0, 19) },
  'evt.rawtime': { type: 'number', extract: (c) => Math.round(c.ev.timeMs * 1e6) },
  'evt.hostname': { type: 'string', extract: (c) => c.table.host.hostname },
  'evt.res': { type: 'string', extract: (c) => (c.ev.res < 0 ? (c.ev.errorName ?? String(c.ev.res)) : 'SUCCESS') },
  'evt.rawres': { type: 'number', extract: (c) => c.ev.res },
  'evt.failed': { type: 'bool', extract: (c) => c.ev.res < 0 },
  'evt.is_open_read': {
    type: 'bool',
    extract: (c) => {
      const f = file(c);
      return f?.flags === undefined ? undefined : (f.flags & 3) !== 1;
    },
  },
  'evt.is_open_write': {
    type: 'bool',
    extract: (c) => {
      const f = file(c);
      return f?.flags === undefined ? undefined : (f.flags & 3) !== 0;
    },
  },
  'evt.is_open_exec': { type: 'bool', extract: (c) => (file(c)?.flags === undefined ? undefined : false) },
  'evt.arg': evtArg,
  'evt.rawarg': { ...evtArg, extract: (c, arg) => (arg === 'flags' ? file(c)?.flags : rawArg(c, arg)) },

  'fd.num': { type: 'number', extract: (c) => c.ev.fd?.num },
  'fd.type': {
    type: 'string',
    extract: (c) => (c.ev.fd ? (c.ev.fd.kind === 'file' ? (c.ev.fd.directory ? 'directory' : 'file') : `ipv${c.ev.fd.family}`) : undefined),
  },
  'fd.typechar': {
    type: 'string',
    extract: (c) => (c.ev.fd ? (c.ev.fd.kind === 'file' ? (c.ev.fd.directory ? 'd' : 'f') : String(c.ev.fd.family)) : undefined),
  },
  'fd.name': {
    type: 'string',
    extract: (c) => {
      const f = c.ev.fd;
      return f ? (f.kind === 'file' ? f.path : tuple(f)) : undefined;
    },
  },
  'fd.nameraw': { type: 'string', extract: (c) => file(c)?.path },
  'fd.directory': {
    type: 'string',
    extract: (c) => {
      const f = file(c);
      return f ? (f.directory ? f.path : posix.dirname(f.path)) : undefined;
    },
  },
  'fd.filename': {
    type: 'string',
    extract: (c) => {
      const f = file(c);
      return f && !f.directory ? posix.basename(f.path) : undefined;
    },
  },
  'fd.l4proto': { type: 'string', extract: (c) => sock(c)?.l4proto },
  'fd.sockfamily': { type: 'string', extract: (c) => (sock(c) ? 'ip' : undefined) },
  'fd.is_server': {
    type: 'bool',
    extract: (c) => {
      const s = sock(c);
      return s ? s.role === 'server' : undefined;
    },
  },
  'fd.cip': {
    type: 'ip',
    extract: (c) => {
      const s = sock(c);
      return s && client(s).ip;
    },
  },
  'fd.sip': {
    type: 'ip',
    extract: (c) => {
      const s = sock(c);
      return s && server(s).ip;
    },
  },
  // Not a Falco field: the destination (server) address, named as the issue asks.
  'fd.dip': {
    type: 'ip',
    extract: (c) => {
      const s = sock(c);
      return s && server(s).ip;
    },
  },
  'fd.lip': { type: 'ip', extract: (c) => sock(c)?.local.ip },
  'fd.rip': { type: 'ip', extract: (c) => sock(c)?.remote.ip },
  'fd.ip': {
    type: 'ip',
    extract: (c) => {
      const s = sock(c);
      return s ? [client(s).ip, server(s).ip] : undefined;
    },
  },
  'fd.cport': {
    type: 'number',
    extract: (c) => {
      const s = sock(c);
      return s && client(s).port;
    },
  },
  'fd.sport': {
    type: 'number',
    extract: (c) => {
      const s = sock(c);
      return s && server(s).port;
    },
  },
  'fd.lport': { type: 'number', extract: (c) => sock(c)?.local.port },
  'fd.rport': { type: 'number', extract: (c) => sock(c)?.remote.port },
  'fd.port': {
    type: 'number',
    extract: (c) => {
      const s = sock(c);
      return s ? [client(s).port, server(s).port] : undefined;
    },
  },
  'fd.cnet': {
    type: 'ipnet',
    extract: (c) => {
      const s = sock(c);
      return s && client(s).ip;
    },
  },
  'fd.snet': {
    type: 'ipnet',
    extract: (c) => {
      const s = sock(c);
      return s && server(s).ip;
    },
  },
  'fd.lnet': { type: 'ipnet', extract: (c) => sock(c)?.local.ip },
  'fd.rnet': { type: 'ipnet', extract: (c) => sock(c)?.remote.ip },
  'fd.net': {
    type: 'ipnet',
    extract: (c) => {
      const s = sock(c);
      return s ? [client(s).ip, server(s).ip] : undefined;
    },
  },

  'proc.pid': { type: 'number', extract: (c) => c.proc?.pid },
  'proc.vpid': { type: 'number', extract: (c) => (host(c) ? c.proc?.pid : undefined) },
  'thread.tid': { type: 'number', extract: (c) => c.ev.tid ?? c.ev.pid },
  'proc.ppid': { type: 'number', extract: (c) => c.proc?.ppid },
  'proc.name': { type: 'string', extract: (c) => nameOf(c.proc) },
  'proc.exe': { type: 'string', extract: (c) => exeOf(c.proc) },
  'proc.exepath': { type: 'string', extract: (c) => c.proc?.exepath },
  'proc.args': { type: 'string', extract: (c) => argsOf(c.proc) },
  'proc.cmdline': { type: 'string', extract: (c) => cmdlineOf(c.proc) },
  'proc.exeline': { type: 'string', extract: (c) => c.proc?.argv?.join(' ') },
  'proc.cmdnargs': { type: 'number', extract: (c) => (c.proc?.argv ? c.proc.argv.length - 1 : undefined) },
  'proc.cmdlenargs': { type: 'number', extract: (c) => argsOf(c.proc)?.replace(/ /g, '').length },
  'proc.tty': { type: 'number', extract: (c) => c.proc?.tty },
  'proc.cwd': { type: 'string', extract: (c) => (c.proc?.cwd === undefined ? undefined : c.proc.cwd.endsWith('/') ? c.proc.cwd : `${c.proc.cwd}/`) },
  'proc.sid': { type: 'number', extract: (c) => c.proc?.sid },
  'proc.duration': {
    type: 'number',
    extract: (c) => (c.proc?.startMs === undefined ? undefined : Math.max(0, Math.round((c.ev.timeMs - c.proc.startMs) * 1e6))),
  },
  'proc.pname': { type: 'string', extract: (c) => nameOf(parent(c)) },
  'proc.pexe': { type: 'string', extract: (c) => exeOf(parent(c)) },
  'proc.pexepath': { type: 'string', extract: (c) => parent(c)?.exepath },
  'proc.pcmdline': { type: 'string', extract: (c) => cmdlineOf(parent(c)) },
  'proc.aname': ancestry((p) => p.name || undefined, 'string'),
  'proc.apid': ancestry((p) => p.pid, 'number'),
  'proc.aexe': ancestry((p) => exeOf(p), 'string'),
  'proc.aexepath': ancestry((p) => p.exepath, 'string'),
  'proc.acmdline': ancestry((p) => cmdlineOf(p), 'string'),

  'user.uid': { type: 'number', extract: (c) => c.proc?.uid ?? c.ev.uid },
  'user.name': {
    type: 'string',
    extract: (c) => {
      const uid = c.proc?.uid ?? c.ev.uid;
      return uid === undefined ? undefined : (c.table.host.userName(uid) ?? String(uid));
    },
  },
  'user.loginuid': { type: 'number', extract: (c) => c.proc?.loginuid },
  'user.loginname': {
    type: 'string',
    extract: (c) => {
      const l = c.proc?.loginuid;
      return l === undefined ? undefined : l < 0 ? '' : (c.table.host.userName(l) ?? String(l));
    },
  },
  'group.gid': { type: 'number', extract: (c) => c.proc?.gid },
  'group.name': {
    type: 'string',
    extract: (c) => {
      const g = c.proc?.gid;
      return g === undefined ? undefined : (c.table.host.groupName(g) ?? String(g));
    },
  },

  // Host processes take Falco's values (id and name "host", image fields empty);
  // for a container Sherlock knows the id from the cgroup, nothing else.
  'container.id': { type: 'string', extract: (c) => c.table.containerId(c.proc) },
  'container.name': { type: 'string', extract: (c) => (host(c) ? 'host' : undefined) },
  'container.image': { type: 'string', extract: (c) => (host(c) ? '' : undefined) },
  'container.image.repository': { type: 'string', extract: (c) => (host(c) ? '' : undefined) },
  'container.image.tag': { type: 'string', extract: (c) => (host(c) ? '' : undefined) },
  'container.image.id': { type: 'string', extract: (c) => (host(c) ? '' : undefined) },
  'container.type': { type: 'string', extract: (c) => (host(c) ? 'host' : undefined) },
  'container.privileged': { type: 'bool', extract: (c) => (host(c) ? false : undefined) },
  // Output only: Falco's placeholder for the container fields.
  'container.info': { type: 'string', extract: (c) => (inContainer(c) ? `container_id=${c.table.containerId(c.proc)}` : '') },
};

/**
 * The field a name (and its [arg] or .arg) denotes, or why it is not available.
 * `evt.arg.flags` and `evt.arg[flags]` are the same field with the argument "flags".
 */
export function lookupField(name: string, arg: string | undefined): { def: FieldDef; name: string; arg?: string } | { error: string } {
  let def = FIELDS[name];
  let base = name;
  let fieldArg = arg;
  if (!def) {
    // evt.arg.flags → evt.arg + "flags"
    const dot = name.lastIndexOf('.');
    const head = name.slice(0, dot);
    if (dot > 0 && FIELDS[head]?.arg === 'name' && arg === undefined) {
      def = FIELDS[head];
      base = head;
      fieldArg = name.slice(dot + 1);
    }
  }
  if (!def) return { error: `field ${name} is not available` };
  if (fieldArg !== undefined && !def.arg) return { error: `field ${name} takes no argument ([${fieldArg}])` };
  if (fieldArg === undefined && def.arg && !def.argOptional)
    return { error: `field ${name} needs an argument (${name}[${def.arg === 'index' ? 'N' : 'name'}])` };
  if (def.arg === 'index' && fieldArg !== undefined && index(fieldArg) === undefined)
    return { error: `field ${name}[${fieldArg}]: the argument must be a number` };
  if (
    def.arg === 'name' &&
    base.startsWith('evt.') &&
    fieldArg !== undefined &&
    !(KNOWN_ARGS as readonly string[]).includes(fieldArg) &&
    !/^\d+$/.test(fieldArg)
  ) {
    return { error: `field ${base}.${fieldArg} is not available (Sherlock fills evt.arg.${KNOWN_ARGS.join(', .')})` };
  }
  if (def.arg === 'name' && fieldArg !== undefined && /^\d+$/.test(fieldArg))
    return { error: `field ${base}[${fieldArg}] is not available (arguments by position)` };
  return { def, name: base, ...(fieldArg !== undefined ? { arg: fieldArg } : {}) };
}
