// createSymbolizer(): instruction pointers to frames, for captures that
// collect stacks (profile, offcputime). User frames come from the ELF symbol
// tables of the mapped files (through /proc/PID/root, so containers work), JIT
// frames from perf maps, kernel frames from /proc/kallsyms. What no symbol
// covers keeps `module+0xoffset`.
//
// Addresses after the first of a stack are return addresses: they are looked
// up one byte earlier (inside the call instruction), so a call that is the last
// instruction of a function is not blamed on the next function.
import { clearElfCache } from './elf-cache.js';
import { kallsymsProblem, kernelSymbols, releaseKernelSymbols, type KernelSymbols } from './kallsyms.js';
import { ProcessImage } from './process.js';
import type { Frame, Symbolizer } from './types.js';

export type { Frame, FrameKind, Symbolizer } from './types.js';
export { kallsymsProblem, KernelSymbols } from './kallsyms.js';
export { clearElfCache } from './elf-cache.js';
export { ElfFile } from './elf.js';
export { parseMaps, type MapEntry } from './process-maps.js';
export { PerfMap, parsePerfMapLine } from './perf-map.js';
export { JIT_CODE } from './process.js';

/** A miss re-reads a live process's maps and perf map at most this often. */
const USER_REFRESH_MS = 250;
/** A sampled address outside the maps held re-reads them at most this often (a process starting, a JIT). */
const SAMPLE_REFRESH_MS = 20;
/** A kernel miss re-reads /proc/kallsyms at most this often (modules, BPF programs). */
const KERNEL_REFRESH_MS = 2000;

/** Symbolizers created and not closed yet: the shared caches are dropped when the last one closes. */
let openSymbolizers = 0;

export interface SherlockSymbolizer extends Symbolizer {
  /**
   * Forgets every process noted. When no other symbolizer is open, also drops the shared
   * caches (ELF symbol tables, kallsyms: ~10 MB each for node and a distribution kernel).
   */
  close(): void;
  /** Why kernel frames are named by address, when they are (no root, kptr_restrict). */
  kernelProblem(): string | undefined;
  /** Where a code address of a process is (module, ELF file, ELF address), for unwinding; undefined outside its code. */
  codeAt(pid: number, addr: number): ReturnType<ProcessImage['codeAt']>;
  /**
   * A sampled instruction pointer, seen as the sample arrives (while the process most likely
   * lives): when no mapping held covers it, the maps are re-read now, so a stack unwound later
   * (after the process exited) still finds its code (libraries and JIT code mapped after the
   * process was first noted).
   */
  noteCode(pid: number, addr: number): void;
  /** Modules of a noted process that could not be read (no symbols, no unwind info), with why. */
  unreadableModules(pid: number): string[];
  /** What notePid learnt about a pid: undefined if never noted. */
  processInfo(pid: number): { alive: boolean; mappings: number; problem?: string } | undefined;
}

export function createSymbolizer(): SherlockSymbolizer {
  const processes = new Map<number, ProcessImage>();
  let closed = false;
  openSymbolizers++;

  function image(pid: number): ProcessImage {
    let p = processes.get(pid);
    if (!p) {
      p = new ProcessImage(pid);
      processes.set(pid, p);
    }
    return p;
  }

  function kernelFrame(symbols: KernelSymbols | undefined, ip: bigint, lookupAt: bigint): Frame | undefined {
    const symbol = symbols?.lookup(lookupAt);
    if (!symbol) return undefined;
    return { name: symbol.name, kind: 'kernel', module: symbol.module, offset: Number(symbol.moduleOffset + (ip - lookupAt)) };
  }

  return {
    notePid(pid) {
      // Again for a pid noted before: re-read (an exec, a dlopen, JIT code since).
      const p = processes.get(pid);
      if (!p) image(pid);
      else if (p.alive) p.refresh();
    },

    reloadPerfMap(pid) {
      image(pid).reloadPerfMap();
    },

    symbolizeUser(pid, ips) {
      const p = image(pid);
      let retried = false;
      const retry = () => {
        // At most one re-read per call, and only for a live process, not too often.
        if (retried || !p.alive || Date.now() - p.lastRefreshMs < USER_REFRESH_MS) return false;
        retried = true;
        return p.refresh();
      };
      return ips.map((ip, i) => {
        const at = i === 0 || ip === 0n ? ip : ip - 1n;
        if (ip < 0n || ip > BigInt(Number.MAX_SAFE_INTEGER)) {
          const module = '[unknown]';
          return { name: `${module}+0x${ip.toString(16)}`, kind: 'unknown', module };
        }
        return p.symbolize(Number(ip), Number(at), retry);
      });
    },

    symbolizeKernel(ips) {
      let symbols = kernelSymbols();
      let reloaded = false;
      return ips.map((ip, i): Frame => {
        const at = i === 0 || ip === 0n ? ip : ip - 1n;
        let frame = kernelFrame(symbols, ip, at);
        if (!frame && !reloaded && symbols && !symbols.hidden && Date.now() - symbols.loadedAtMs > KERNEL_REFRESH_MS) {
          reloaded = true;
          symbols = kernelSymbols(KERNEL_REFRESH_MS);
          frame = kernelFrame(symbols, ip, at);
        }
        if (frame) return frame;
        const offset = symbols?.kernelOffset(ip);
        const module = '[kernel]';
        return offset === undefined
          ? { name: `${module}+0x${ip.toString(16)}`, kind: 'kernel', module }
          : { name: `${module}+0x${offset.toString(16)}`, kind: 'kernel', module, offset: Number(offset) };
      });
    },

    close() {
      processes.clear();
      if (closed) return;
      closed = true;
      if (--openSymbolizers === 0) {
        clearElfCache();
        releaseKernelSymbols();
      }
    },

    kernelProblem: kallsymsProblem,

    codeAt(pid, addr) {
      const p = image(pid);
      let retried = false;
      return p.codeAt(addr, () => {
        if (retried || !p.alive || Date.now() - p.lastRefreshMs < USER_REFRESH_MS) return false;
        retried = true;
        return p.refresh();
      });
    },

    noteCode(pid, addr) {
      const p = image(pid);
      if (p.alive && !p.covers(addr) && Date.now() - p.lastRefreshMs >= SAMPLE_REFRESH_MS) p.refresh();
    },

    unreadableModules: (pid) => processes.get(pid)?.unreadableModules() ?? [],

    processInfo(pid) {
      const p = processes.get(pid);
      if (!p) return undefined;
      return p.problem ? { alive: p.alive, mappings: p.mappingCount, problem: p.problem } : { alive: p.alive, mappings: p.mappingCount };
    },
  };
}
