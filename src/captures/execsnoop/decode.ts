// Decodes the records of bpf/execsnoop/execsnoop.h at the offsets of
// execLayout and exitLayout; test/architecture/record-layouts.test.ts checks
// them against the object's BTF, so a change on one side fails loudly.
import { cString, recordLayout } from '../records.js';

export const EXECSNOOP_EXEC = 1;
export const EXECSNOOP_EXIT = 2;
/** EXECSNOOP_MAX_ARGS: arguments kept per exec. */
export const EXECSNOOP_MAX_ARGS = 20;

/** struct execsnoop_header, the start of both records: which one, and whose. */
export const headerLayout = recordLayout('execsnoop_header', 16, { kind: 0, pid: 4, ts_ns: 8 });

/** struct execsnoop_exec; only args_size bytes of args are sent, so records are shorter than its size. */
export const execLayout = recordLayout(
  'execsnoop_exec',
  2912,
  {
    hdr: 0,
    tid: 16,
    ppid: 20,
    uid: 24,
    retval: 28,
    cgroup_id: 32,
    memcg_id: 40,
    args_count: 48,
    args_size: 52,
    args_truncated: 56,
    partial: 57,
    comm: 64,
    pcomm: 80,
    filename: 96,
    args: 352,
  },
  { comm: 16, pcomm: 16, filename: 256 },
);

/** struct execsnoop_exit. */
export const exitLayout = recordLayout('execsnoop_exit', 32, { hdr: 0, exit_code: 16, exit_signal: 20, lifetime_ns: 24 });

export interface ExecRecord {
  kind: typeof EXECSNOOP_EXEC;
  pid: number;
  tsNs: bigint;
  tid: number;
  ppid: number;
  uid: number;
  retval: number;
  cgroupId: bigint;
  /** The memory controller's cgroup (a v1 hierarchy on a hybrid host): names the container without /proc. */
  memcgId: bigint;
  comm: string;
  pcomm: string;
  filename: string;
  argv: string[];
  argsTruncated: boolean;
}

export interface ExitRecord {
  kind: typeof EXECSNOOP_EXIT;
  pid: number;
  tsNs: bigint;
  exitCode: number;
  exitSignal: number;
  lifetimeNs: bigint;
}

export function decodeRecord(data: Buffer): ExecRecord | ExitRecord | undefined {
  const H = headerLayout.offsets;
  const kind = data.readUInt32LE(H.kind);
  const pid = data.readUInt32LE(H.pid);
  const tsNs = data.readBigUInt64LE(H.ts_ns);
  if (kind === EXECSNOOP_EXIT && data.length >= exitLayout.size) {
    const X = exitLayout.offsets;
    return {
      kind,
      pid,
      tsNs,
      exitCode: data.readInt32LE(X.exit_code),
      exitSignal: data.readInt32LE(X.exit_signal),
      lifetimeNs: data.readBigUInt64LE(X.lifetime_ns),
    };
  }
  const L = execLayout.offsets;
  if (kind !== EXECSNOOP_EXEC || data.length < L.args) return undefined;
  const argsSize = Math.min(data.readUInt32LE(L.args_size), data.length - L.args);
  // NUL-separated, from syscall entry (at most MAX_ARGS) or from the new
  // image's argument area (any number; the kernel leaves counting to us).
  let argv = argsSize > 0 ? data.toString('utf8', L.args, L.args + argsSize).split('\0') : [];
  if (argv.at(-1) === '') argv.pop(); // the last argument's NUL
  let argsTruncated = data.readUInt8(L.args_truncated) !== 0;
  if (argv.length > EXECSNOOP_MAX_ARGS) {
    argv = argv.slice(0, EXECSNOOP_MAX_ARGS);
    argsTruncated = true;
  }
  return {
    kind,
    pid,
    tsNs,
    tid: data.readUInt32LE(L.tid),
    ppid: data.readUInt32LE(L.ppid),
    uid: data.readUInt32LE(L.uid),
    retval: data.readInt32LE(L.retval),
    cgroupId: data.readBigUInt64LE(L.cgroup_id),
    memcgId: data.readBigUInt64LE(L.memcg_id),
    comm: cString(data, L.comm, execLayout.lengths.comm),
    pcomm: cString(data, L.pcomm, execLayout.lengths.pcomm),
    filename: cString(data, L.filename, execLayout.lengths.filename),
    argv,
    argsTruncated,
  };
}
