// What a symbolized frame is, and what a symbolizer offers captures.
// Implemented by src/symbolize/index.ts (createSymbolizer).

export type FrameKind = 'kernel' | 'user' | 'jit' | 'unknown';

export interface Frame {
  /** Function name, or `module+0xoffset` when no symbol covers the address (never a bare "[unknown]"). */
  name: string;
  kind: FrameKind;
  /** The mapped file (basename or path) or "[kernel]"/module name; absent for JIT frames. */
  module?: string;
  /** Offset of the address inside the module (file offset space), for unresolved frames and pprof. */
  offset?: number;
  /** GNU build-id of the module, hex, when it has one. */
  buildId?: string;
  /** Source file and line (DWARF line info, or a Python code object), when known. */
  file?: string;
  line?: number;
  /** DWARF says this call was inlined into its caller (the frame rootward of it): it has no address of its own. */
  inlined?: boolean;
}

export interface Symbolizer {
  /** Snapshot /proc/PID/maps (through /proc/PID/root) and its perf map now, so the pid still
   *  symbolizes after it exits. Cheap to call again for a pid already noted. */
  notePid(pid: number): void;
  /** Reads pid's perf map anew: it was just rewritten whole (a JVM's, asked for with jcmd). */
  reloadPerfMap(pid: number): void;
  /** User-space instruction pointers of one process, leaf first in, same order out. */
  symbolizeUser(pid: number, ips: bigint[]): Frame[];
  /** Kernel instruction pointers, from /proc/kallsyms (and module names). */
  symbolizeKernel(ips: bigint[]): Frame[];
}
