// Decodes the records of bpf/execsnoop/execsnoop.h. Offsets follow the C
// structs field by field; test/captures/execsnoop-decode.test.ts checks them
// against the header compiled with cc, so a change on one side fails loudly.
import { cString } from '../records.js';

export const EXECSNOOP_EXEC = 1;
export const EXECSNOOP_EXIT = 2;
/** EXECSNOOP_MAX_ARGS: arguments kept per exec. */
export const EXECSNOOP_MAX_ARGS = 20;

export const execLayout = {
  kind: 0, pid: 4, tsNs: 8, tid: 16, ppid: 20, uid: 24, retval: 28, cgroupId: 32,
  argsCount: 40, argsSize: 44, argsTruncated: 48, comm: 56, pcomm: 72, filename: 88, args: 344,
  commLen: 16, filenameLen: 256,
} as const;

export const exitLayout = { exitCode: 16, exitSignal: 20, lifetimeNs: 24, size: 32 } as const;

export interface ExecRecord {
  kind: typeof EXECSNOOP_EXEC;
  pid: number;
  tsNs: bigint;
  tid: number;
  ppid: number;
  uid: number;
  retval: number;
  cgroupId: bigint;
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
  const kind = data.readUInt32LE(0);
  const pid = data.readUInt32LE(4);
  const tsNs = data.readBigUInt64LE(8);
  if (kind === EXECSNOOP_EXIT && data.length >= exitLayout.size) {
    return {
      kind, pid, tsNs,
      exitCode: data.readInt32LE(exitLayout.exitCode),
      exitSignal: data.readInt32LE(exitLayout.exitSignal),
      lifetimeNs: data.readBigUInt64LE(exitLayout.lifetimeNs),
    };
  }
  if (kind !== EXECSNOOP_EXEC || data.length < execLayout.args) return undefined;
  const L = execLayout;
  const argsSize = Math.min(data.readUInt32LE(L.argsSize), data.length - L.args);
  // NUL-separated, from syscall entry (at most MAX_ARGS) or from the new
  // image's argument area (any number; the kernel leaves counting to us).
  let argv = argsSize > 0 ? data.toString('utf8', L.args, L.args + argsSize).split('\0') : [];
  if (argv.at(-1) === '') argv.pop(); // the last argument's NUL
  let argsTruncated = data.readUInt8(L.argsTruncated) !== 0;
  if (argv.length > EXECSNOOP_MAX_ARGS) {
    argv = argv.slice(0, EXECSNOOP_MAX_ARGS);
    argsTruncated = true;
  }
  return {
    kind, pid, tsNs,
    tid: data.readUInt32LE(L.tid),
    ppid: data.readUInt32LE(L.ppid),
    uid: data.readUInt32LE(L.uid),
    retval: data.readInt32LE(L.retval),
    cgroupId: data.readBigUInt64LE(L.cgroupId),
    comm: cString(data, L.comm, L.commLen),
    pcomm: cString(data, L.pcomm, L.commLen),
    filename: cString(data, L.filename, L.filenameLen),
    argv,
    argsTruncated,
  };
}
