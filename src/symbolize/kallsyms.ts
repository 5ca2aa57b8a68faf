// Kernel symbols from /proc/kallsyms: text symbols sorted once, looked up by
// binary search; the optional "[module]" column names the module (BPF
// programs show up as "bpf_prog_<tag>_<name> [bpf]"). Without root (or with
// kernel.kptr_restrict=2) every address reads as 0: then `hidden` is set and
// frames are named by address instead.
//
// Kernel addresses do not fit a double exactly, so they are kept as offsets
// from a base (the high 32 bits of the lowest address), which do.
import { readFileSync } from 'node:fs';

export interface KernelSymbol {
  name: string;
  /** The module ("[kernel]" for vmlinux). */
  module: string;
  start: bigint;
  /** Offset of the address from the lowest symbol of its module. */
  moduleOffset: bigint;
}

/** A kernel function is rarely this large; past it an address is not attributed to the symbol before. */
const MAX_SYMBOL_SPAN = 256 * 1024;
const KERNEL_MODULE = '[kernel]';

export class KernelSymbols {
  /** All addresses read as 0: not root, or kptr_restrict. */
  readonly hidden: boolean;
  readonly loadedAtMs: number;
  private readonly baseHi: number;
  private readonly offsets: Float64Array;
  private readonly names: string[];
  private readonly modules: string[];
  /** Lowest offset per module, for moduleOffset. */
  private readonly moduleBase = new Map<string, number>();

  constructor(text: string, nowMs = Date.now()) {
    this.loadedAtMs = nowMs;
    // One pass over the text without splitting it: "ffffffff81000000 T _stext" or
    // "ffffffffc0201000 t name\t[module]". Only text symbols (t, T, w, W) are kept.
    const his: number[] = [];
    const los: number[] = [];
    const names: string[] = [];
    const modules: string[] = [];
    let minHi = Number.POSITIVE_INFINITY;
    let sawAny = false;
    for (let pos = 0; pos < text.length; ) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0) eol = text.length;
      const lineStart = pos;
      pos = eol + 1;
      const sp1 = text.indexOf(' ', lineStart);
      if (sp1 <= lineStart || sp1 > eol - 3) continue;
      const type = text.charCodeAt(sp1 + 1) | 0x20; // lower-case
      if (type !== 0x74 /* t */ && type !== 0x77 /* w */) continue;
      // Hex address in two halves: the low 8 digits and what is above them.
      let hi = 0;
      let lo = 0;
      let ok = true;
      const split = Math.max(lineStart, sp1 - 8);
      for (let i = lineStart; i < sp1; i++) {
        const c = text.charCodeAt(i);
        const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
        if (d < 0) {
          ok = false;
          break;
        }
        if (i < split) hi = hi * 16 + d;
        else lo = lo * 16 + d;
      }
      if (!ok) continue;
      sawAny = true;
      if (hi === 0 && lo === 0) continue; // hidden (or a placeholder)
      const nameStart = sp1 + 3;
      let tab = -1; // searched within the line only (most lines have none)
      for (let i = nameStart; i < eol; i++) {
        if (text.charCodeAt(i) === 9) {
          tab = i;
          break;
        }
      }
      names.push(text.slice(nameStart, tab < 0 ? eol : tab));
      let module = KERNEL_MODULE;
      if (tab >= 0) {
        const open = text.indexOf('[', tab);
        const close = open >= 0 && open < eol ? text.indexOf(']', open) : -1;
        if (close > open && close <= eol) module = text.slice(open + 1, close);
      }
      modules.push(module);
      if (hi < minHi) minHi = hi;
      his.push(hi);
      los.push(lo);
    }
    this.hidden = sawAny && names.length === 0;
    this.baseHi = names.length ? minHi : 0;
    const count = names.length;
    const raw = new Float64Array(count);
    let sorted = true;
    for (let i = 0; i < count; i++) {
      raw[i] = ((his[i] as number) - this.baseHi) * 0x1_0000_0000 + (los[i] as number);
      if (i > 0 && (raw[i] as number) < (raw[i - 1] as number)) sorted = false;
    }
    const order = sorted ? undefined : sortedOrder(raw);
    this.offsets = new Float64Array(count);
    this.names = new Array<string>(count);
    this.modules = new Array<string>(count);
    for (let k = 0; k < count; k++) {
      const i = order ? (order[k] as number) : k;
      const offset = raw[i] as number;
      const module = modules[i] as string;
      this.offsets[k] = offset;
      this.names[k] = names[i] as string;
      this.modules[k] = module;
      const base = this.moduleBase.get(module);
      if (base === undefined || offset < base) this.moduleBase.set(module, offset);
    }
  }

  static read(): KernelSymbols {
    return new KernelSymbols(readFileSync('/proc/kallsyms', 'latin1'));
  }

  get count(): number {
    return this.offsets.length;
  }

  private toOffset(ip: bigint): number | undefined {
    const offset = ip - (BigInt(this.baseHi) << 32n);
    if (offset < 0n || offset > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return Number(offset);
  }

  /** The symbol covering `ip`, or undefined (hidden addresses, before the first symbol, too far past the last one). */
  lookup(ip: bigint): KernelSymbol | undefined {
    const offset = this.toOffset(ip);
    if (offset === undefined || this.offsets.length === 0) return undefined;
    let lo = 0;
    let hi = this.offsets.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.offsets[mid] as number) <= offset) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return undefined;
    const start = this.offsets[found] as number;
    if (offset - start > MAX_SYMBOL_SPAN) return undefined;
    const module = this.modules[found] as string;
    const base = this.moduleBase.get(module) ?? start;
    return {
      name: this.names[found] as string,
      module,
      start: (BigInt(this.baseHi) << 32n) + BigInt(start),
      moduleOffset: BigInt(offset - base),
    };
  }

  /** Offset of `ip` from the kernel's lowest text symbol (_stext), for unresolved frames. */
  kernelOffset(ip: bigint): bigint | undefined {
    const offset = this.toOffset(ip);
    const base = this.moduleBase.get(KERNEL_MODULE);
    if (offset === undefined || base === undefined || offset < base) return undefined;
    return BigInt(offset - base);
  }
}

const INDEX_SPAN = 2 ** 20;

/** Indices of `values` in ascending order: a native sort of packed (value, index) keys when exact, else a comparator sort. */
function sortedOrder(values: Float64Array): Uint32Array {
  const n = values.length;
  let max = 0;
  for (let i = 0; i < n; i++) if ((values[i] as number) > max) max = values[i] as number;
  const order = new Uint32Array(n);
  if (n < INDEX_SPAN && max * INDEX_SPAN + INDEX_SPAN <= Number.MAX_SAFE_INTEGER) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (values[i] as number) * INDEX_SPAN + i;
    keys.sort();
    for (let k = 0; k < n; k++) order[k] = (keys[k] as number) % INDEX_SPAN;
    return order;
  }
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => (values[a] as number) - (values[b] as number));
}

let shared: KernelSymbols | undefined;
let sharedError: string | undefined;

/**
 * The kernel's symbols, read once and shared. `maxAgeMs` re-reads them when older (modules
 * and BPF programs come and go); undefined when /proc/kallsyms cannot be read.
 */
export function kernelSymbols(maxAgeMs = Number.POSITIVE_INFINITY): KernelSymbols | undefined {
  if (!shared || Date.now() - shared.loadedAtMs > maxAgeMs) {
    try {
      shared = KernelSymbols.read();
      sharedError = undefined;
    } catch (err) {
      sharedError = `cannot read /proc/kallsyms: ${(err as Error).message}`;
    }
  }
  return shared;
}

/** Drops the shared symbols (memory back; the next use reads /proc/kallsyms again). */
export function releaseKernelSymbols(): void {
  shared = undefined;
  sharedError = undefined;
}

/** Why kernel frames cannot be named, or undefined when they can. */
export function kallsymsProblem(): string | undefined {
  const symbols = kernelSymbols();
  if (!symbols) return sharedError;
  if (symbols.hidden) {
    return '/proc/kallsyms shows every address as 0 (not root, or kernel.kptr_restrict): kernel frames are named by address';
  }
  return undefined;
}
