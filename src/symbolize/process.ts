// One process as the symbolizer remembers it: its mappings, the ELF file of
// each executable file mapping (opened when noted, so it still reads after the
// process exits) and its perf map. refresh() re-reads both, keeping mappings
// that went away (a library unloaded) so earlier samples still resolve.
import type { ElfFile } from './elf.js';
import { elfForMapping, vdsoElf } from './elf-cache.js';
import { PerfMap, namespacePid, perfMapCandidates, processStartMs } from './perf-map.js';
import { fileOffsetOf, findMapping, isFileMapping, mergeMaps, moduleName, readMaps, vaddrOfFileOffset, type MapEntry } from './process-maps.js';
import { rememberOrigin } from './frame-origin.js';
import type { Frame } from './types.js';

/** Leeway for comparing a perf map's mtime with the process start (btime has 1 s resolution). */
const START_SLACK_MS = 2000;
/** Most frames remembered per process (ELF frames only: JIT code can be replaced in place). */
const MAX_CACHED_FRAMES = 200_000;

interface Resolved {
  elf?: ElfFile;
  error?: string;
}

/** A mapping's identity: where, which file, which part of it. */
function mappingKey(m: MapEntry): string {
  return `${m.start}-${m.end}:${m.offset}:${m.dev}:${m.inode}`;
}

/** The frame name of code in anonymous executable memory that no perf map names. */
export const JIT_CODE = '[JIT code]';

export class ProcessImage {
  private maps: MapEntry[] = [];
  /** By mapping identity (mappingKey): the ELF file of each executable mapping. */
  private readonly elfs = new Map<string, Resolved>();
  /** The executable file mappings last read, to notice an exec or a dlopen. */
  private codeSignature = '';
  private readonly frames = new Map<number, Frame>();
  /** Per parsed mapping: its ELF (or null) and module name, so lookups build no strings. */
  private readonly info = new WeakMap<MapEntry, { resolved: Resolved | null; module: string }>();
  private perfMap: PerfMap | undefined;
  private refreshedAtMs = 0;
  /** Could /proc/PID/maps be read the last time we tried? */
  alive = false;
  /** Why the process could not be read, when it could not. */
  problem: string | undefined;

  constructor(readonly pid: number) {
    this.refresh();
  }

  get lastRefreshMs(): number {
    return this.refreshedAtMs;
  }

  get mappingCount(): number {
    return this.maps.length;
  }

  /** Reads its perf map anew (rewritten whole, as a JVM's on request), forgetting the frames named without it. */
  reloadPerfMap(): void {
    this.perfMap = undefined;
    this.frames.clear();
    this.refresh();
  }

  /** Re-reads maps and the perf map; returns whether the process could still be read. */
  refresh(): boolean {
    this.refreshedAtMs = Date.now();
    let fresh: MapEntry[];
    try {
      fresh = readMaps(this.pid);
    } catch (err) {
      this.alive = false;
      this.problem ??= `pid ${this.pid}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
      // Gone before we first looked: its perf map may still be on the host (its start time is unknown now).
      this.perfMap ??= new PerfMap(perfMapCandidates(this.pid, this.pid));
      this.perfMap.refresh();
      return false;
    }
    this.alive = true;
    this.problem = undefined;
    this.maps = this.maps.length ? mergeMaps(fresh, this.maps) : fresh;
    const code: string[] = [];
    for (const m of fresh) {
      if (!m.perms.includes('x')) continue;
      const key = mappingKey(m);
      code.push(key);
      if (this.elfs.has(key)) continue;
      if (isFileMapping(m)) this.elfs.set(key, elfForMapping(this.pid, m));
      else if (m.path === '[vdso]') this.elfs.set(key, vdsoElf(this.pid, m));
    }
    const signature = code.join('|');
    if (signature !== this.codeSignature) {
      // Code moved (exec, dlopen, dlclose): remembered frames may name the old code.
      this.frames.clear();
      this.codeSignature = signature;
    }
    if (!this.perfMap) {
      const startMs = processStartMs(this.pid);
      this.perfMap = new PerfMap(perfMapCandidates(this.pid, namespacePid(this.pid)), startMs ? startMs - START_SLACK_MS : 0);
    }
    this.perfMap.refresh();
    return true;
  }

  /**
   * One frame. `lookupAt` is the address used to find the symbol (a return address minus
   * one), `ip` the one reported in offsets. `retry` is called once on a miss that a newer
   * snapshot might fix; it returns whether anything was re-read.
   */
  symbolize(ip: number, lookupAt: number, retry: () => boolean): Frame {
    const cacheKey = lookupAt === ip ? ip : -ip;
    const cached = this.frames.get(cacheKey);
    if (cached) return cached;
    let frame = this.resolve(ip, lookupAt);
    if (!frame && retry()) frame = this.resolve(ip, lookupAt);
    return frame ?? this.unresolved(ip, lookupAt);
  }

  /** A named frame, or undefined when nothing we hold names the address. */
  private resolve(ip: number, lookupAt: number): Frame | undefined {
    const m = findMapping(this.maps, lookupAt);
    const info = m ? this.infoOf(m) : undefined;
    if (m && info?.resolved?.elf) {
      const elf = info.resolved.elf;
      const vaddr = vaddrOfFileOffset(elf.segments, fileOffsetOf(m, lookupAt));
      const symbol = vaddr === undefined ? undefined : elf.lookup(vaddr);
      const module = info.module;
      const offset = fileOffsetOf(m, ip);
      const frame: Frame = {
        name: symbol ? symbol.name : `${module}+0x${offset.toString(16)}`,
        kind: 'user',
        module,
        offset,
      };
      if (elf.buildId) frame.buildId = elf.buildId;
      if (vaddr !== undefined) rememberOrigin(frame, { elf, vaddr });
      if (this.frames.size >= MAX_CACHED_FRAMES) this.frames.clear();
      this.frames.set(lookupAt === ip ? ip : -ip, frame);
      return frame;
    }
    // Not an ELF mapping (anonymous, memfd, or not yet in our snapshot): JIT code?
    const jit = this.perfMap?.lookup(lookupAt);
    if (jit) return { name: jit.name, kind: 'jit' };
    return undefined;
  }

  /**
   * Where a code address is, for unwinding: its module and, for a readable ELF file, the
   * file and the ELF virtual address. Undefined outside every executable mapping (the
   * address is not code: a bad unwind or a stale return address).
   */
  codeAt(addr: number, retry: () => boolean): { module: string; fileBacked: boolean; elf?: ElfFile; vaddr?: number } | undefined {
    let m = findMapping(this.maps, addr);
    if (!m && retry()) m = findMapping(this.maps, addr);
    if (!m || !m.perms.includes('x')) return undefined;
    const info = this.infoOf(m);
    const elf = info.resolved?.elf;
    const vaddr = elf ? vaddrOfFileOffset(elf.segments, fileOffsetOf(m, addr)) : undefined;
    return { module: info.module, fileBacked: isFileMapping(m), ...(elf ? { elf } : {}), ...(vaddr !== undefined ? { vaddr } : {}) };
  }

  /** Why a file mapping has no ELF to read (process gone, permissions), by module. */
  unreadableModules(): string[] {
    return [...this.elfs.values()].flatMap((r) => (r.error ? [r.error] : []));
  }

  private infoOf(m: MapEntry): { resolved: Resolved | null; module: string } {
    let info = this.info.get(m);
    if (!info) {
      info = { resolved: m.perms.includes('x') ? (this.elfs.get(mappingKey(m)) ?? null) : null, module: moduleName(m) };
      this.info.set(m, info);
    }
    return info;
  }

  /** Is the address inside a mapping of the snapshot held (a miss: the snapshot is older than the code)? */
  covers(addr: number): boolean {
    return findMapping(this.maps, addr) !== undefined;
  }

  /** `module+0xoffset`: anonymous memory, an unreadable file, or an address outside every mapping. */
  private unresolved(ip: number, lookupAt: number): Frame {
    const m = findMapping(this.maps, lookupAt);
    if (!m) {
      const module = this.maps.length ? '[unmapped]' : '[unknown]';
      return { name: `${module}+0x${ip.toString(16)}`, kind: 'unknown', module, offset: ip };
    }
    const module = moduleName(m);
    const offset = fileOffsetOf(m, ip);
    // Code in anonymous memory is a JIT's (V8, the JVM, .NET) without a perf map: one name for all of
    // it, so its samples add up to one function instead of one per instruction; the offset stays.
    if (!m.path && m.perms.includes('x')) return { name: JIT_CODE, kind: 'jit', module, offset };
    return { name: `${module}+0x${offset.toString(16)}`, kind: isFileMapping(m) ? 'user' : 'unknown', module, offset };
  }
}
