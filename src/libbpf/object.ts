// A BPF object file through its life: open (parse only, no privileges) →
// settings (rodata, map sizes, autoload) → load (verifier) → attach → close.
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { sectionVariables } from './btf.js';
import { BpfError, NotSupportedError, ObjectFileError, errnoName, privilegedCallError } from './errors.js';
import { mapTypeName, programTypeName } from './kernel-types.js';
import {
  attachProgram,
  attachProgramAsync,
  attachProgramsAsync,
  preparePerfEventLink,
  type BpfLink,
  type AttachOptions,
  type PreparedPerfLink,
} from './link.js';
import { hookChainingEnabled, joinHookChain, type ChainedProgram } from './hook-chain.js';
import { programStats } from './stats.js';
import type { PerfEventSpec } from './perf-event.js';
import { onlineCpus } from './perf-event.js';
import { libbpfWarningsSince, routeLibbpfLog, warningsMark } from './log.js';
import { BpfMap } from './map.js';
import { errnoOf, koffi, lastErrno, lib, type Handle } from './native.js';
import type { MapSpec } from './map.js';
import type { ObjectSpec, ProgramSpec } from './spec.js';
import type { VariableSpec } from './btf.js';

export type RodataValue = number | bigint | boolean | string;

export interface OpenOptions {
  /** BTF to relocate against instead of the kernel's (a `bpftool gen
   *  min_core_btf` cut of it: parsing all of vmlinux BTF costs ~20 ms per load). */
  btfCustomPath?: string;
}

// Open objects, so that process exit closes whatever a crash path forgot.
const openObjects = new Set<BpfObject>();
let exitHookInstalled = false;

export function closeAllObjects(): void {
  for (const obj of openObjects) obj.close();
}

export class BpfObject {
  readonly spec: ObjectSpec;
  private handle: Handle;
  private readonly programHandles = new Map<string, Handle>();
  private readonly mapHandles = new Map<string, Handle>();
  private readonly links: BpfLink[] = [];
  private readonly preparedPerfLinks = new Map<string, PreparedPerfLink>();
  /** Programs that ran in a hook chain (hook-chain.ts), kept after they leave for their missed runs. */
  private readonly chained = new Map<string, ChainedProgram>();
  private readonly maps = new Map<string, BpfMap>();
  private loaded = false;
  private loading: Promise<number> | undefined;
  private closeWhenLoaded = false;

  private constructor(path: string, handle: Handle) {
    this.handle = handle;
    const native = lib();
    const programs: ProgramSpec[] = [];
    for (let p = native.bpf_object__next_program(handle, null); p; p = native.bpf_object__next_program(handle, p)) {
      const name = native.bpf_program__name(p);
      this.programHandles.set(name, p);
      programs.push({
        name,
        section: native.bpf_program__section_name(p),
        type: programTypeName(native.bpf_program__type(p)),
        autoload: native.bpf_program__autoload(p),
      });
    }
    const maps: MapSpec[] = [];
    for (let m = native.bpf_object__next_map(handle, null); m; m = native.bpf_object__next_map(handle, m)) {
      const name = native.bpf_map__name(m);
      this.mapHandles.set(name, m);
      if (native.bpf_map__is_internal(m)) continue; // .rodata/.bss: described as variables
      maps.push({
        name,
        type: mapTypeName(native.bpf_map__type(m)),
        keySize: native.bpf_map__key_size(m),
        valueSize: native.bpf_map__value_size(m),
        maxEntries: native.bpf_map__max_entries(m),
      });
    }
    const rodata = sectionVariables(native.bpf_object__btf(handle), '.rodata');
    this.spec = { path, programs, maps, rodata };
  }

  /** Parses an object file. Needs no privileges: nothing reaches the kernel yet. */
  static open(path: string, options: OpenOptions = {}): BpfObject {
    checkReadableFile(path);
    const native = lib();
    routeLibbpfLog();
    const mark = warningsMark();
    const opts = options.btfCustomPath ? { sz: native.openOptsSize, btf_custom_path: options.btfCustomPath } : null;
    const handle = native.bpf_object__open_file(path, opts);
    if (!handle) {
      const errno = lastErrno();
      const why = libbpfWarningsSince(mark)
        .at(-1)
        ?.replace(/^libbpf:\s*/, '');
      throw new ObjectFileError(path, `${errnoName(errno)}${why ? `: ${why}` : ''}`);
    }
    const obj = new BpfObject(path, handle);
    openObjects.add(obj);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.once('exit', closeAllObjects);
    }
    return obj;
  }

  /** Writes `const volatile` settings by name; only before load. */
  /** Writes `const volatile` settings by name; only before load. All or nothing. */
  setRodata(values: Record<string, RodataValue | undefined>): void {
    this.assertPhase('set rodata', false);
    const rodataMap = [...this.mapHandles.entries()].find(([name]) => name.endsWith('.rodata'))?.[1];
    const writes = Object.entries(values).flatMap(([name, value]) => {
      if (value === undefined) return [];
      const variable = this.spec.rodata.find((v) => v.name === name);
      if (!variable || !rodataMap) {
        const known = this.spec.rodata.map((v) => v.name).join(', ') || 'none';
        throw new TypeError(`${this.spec.path} has no rodata variable "${name}" (it has: ${known})`);
      }
      const bytes = Buffer.alloc(variable.size);
      encodeVariable(variable, value, bytes); // throws before anything is written
      return [{ variable, bytes }];
    });
    if (!writes.length) return;
    const size = [0];
    const ptr = lib().bpf_map__initial_value(rodataMap, size);
    const section = Buffer.from(koffi.view(ptr, size[0] ?? 0));
    for (const { variable, bytes } of writes) bytes.copy(section, variable.offset);
  }

  setMaxEntries(mapName: string, maxEntries: number): void {
    this.assertPhase('resize a map', false);
    const ret = lib().bpf_map__set_max_entries(this.mapHandle(mapName), maxEntries);
    if (ret !== 0) throw new BpfError(`resize of map ${mapName} to ${maxEntries}`, errnoOf(ret));
    const spec = this.spec.maps.find((m) => m.name === mapName);
    if (spec) spec.maxEntries = maxEntries;
  }

  /** Chooses whether a program is loaded (for attach-type fallbacks). */
  setAutoload(programName: string, autoload: boolean): void {
    this.assertPhase('change autoload', false);
    lib().bpf_program__set_autoload(this.programHandle(programName), autoload);
    const spec = this.spec.programs.find((p) => p.name === programName);
    if (spec) spec.autoload = autoload;
  }

  /** Verifies and loads every autoload program and creates the maps. Privileged. */
  load(): void {
    this.assertPhase('load', false);
    const mark = warningsMark();
    this.afterLoad(lib().bpf_object__load(this.handle), mark);
  }

  /**
   * The same on one of koffi's worker threads: the verifier takes 5–50 ms per
   * object, which must not stall the event loop. close() during it waits for it.
   */
  async loadAsync(): Promise<void> {
    this.assertPhase('load', false);
    if (this.loading) throw new Error(`cannot load ${this.spec.path} twice at once`);
    const mark = warningsMark();
    const handle = this.handle;
    this.loading = new Promise<number>((resolve, reject) => {
      lib().bpf_object__load.async(handle, (err: unknown, ret: number) => (err ? reject(err as Error) : resolve(ret)));
    });
    try {
      const ret = await this.loading;
      if (this.closeWhenLoaded) throw new Error(`${this.spec.path} was closed while it loaded`);
      this.afterLoad(ret, mark);
    } finally {
      this.loading = undefined;
      if (this.closeWhenLoaded) this.close();
    }
  }

  private afterLoad(ret: number, mark: number): void {
    if (ret !== 0) {
      const errno = errnoOf(ret);
      // Kernels that refuse tracing programs say EPERM even to root.
      const refused = errno === constants.errno.EPERM && this.spec.programs.find((p) => p.autoload && (p.type === 'tracing' || p.type === 'lsm'));
      if (refused) throw new NotSupportedError(`${refused.type} programs (${refused.section})`, 'are refused by this kernel');
      const err = privilegedCallError(`loading ${this.spec.path}`, errno, 'loading BPF programs');
      if (err instanceof BpfError) (err as Error).message += `\n${libbpfWarningsSince(mark).join('\n')}`;
      throw err;
    }
    this.loaded = true;
    const native = lib();
    for (const spec of this.spec.maps) this.maps.set(spec.name, new BpfMap(spec, native.bpf_map__fd(this.mapHandle(spec.name))));
  }

  /**
   * Everything set between open and load, as one string: two objects of the
   * same file with equal fingerprints load the same programs and maps.
   */
  settingsFingerprint(): string {
    this.assertPhase('fingerprint the settings', false);
    const native = lib();
    const parts: string[] = [this.spec.path];
    for (const [name, handle] of this.mapHandles) {
      if (name.endsWith('.rodata')) {
        const size = [0];
        const ptr = native.bpf_map__initial_value(handle, size);
        parts.push(`${name}=${Buffer.from(koffi.view(ptr, size[0] ?? 0)).toString('hex')}`);
      } else {
        parts.push(`${name}:${native.bpf_map__max_entries(handle)}`);
      }
    }
    for (const p of this.spec.programs) parts.push(`${p.name}${p.autoload ? '+' : '-'}`);
    return parts.join(' ');
  }

  map(name: string): BpfMap {
    this.assertPhase('use a map', true);
    const map = this.maps.get(name);
    if (!map) throw new TypeError(`${this.spec.path} has no map "${name}"`);
    return map;
  }

  programFd(name: string): number {
    this.assertPhase('use a program', true);
    return lib().bpf_program__fd(this.programHandle(name));
  }

  /** Attaches one program by its section (tracepoint/..., perf_event, ...). */
  attach(programName: string, options: AttachOptions = {}): BpfLink {
    this.assertPhase('attach', true);
    const spec = this.spec.programs.find((p) => p.name === programName);
    if (!spec?.autoload) throw new TypeError(`program "${programName}" is not loaded in ${this.spec.path}`);
    const prepared = this.takePrepared(programName, options);
    const link = prepared ? prepared.enable() : attachProgram(this.programHandle(programName), spec, options);
    this.links.push(link);
    return link;
  }

  /**
   * Opens the events of its perf_event programs now, linked but disabled (no
   * CPU until attach): a warm object's, so that a run's attach only enables
   * them. An attach that asks for another event (or finds other CPUs online)
   * opens its own instead.
   */
  preparePerfEvents(event: PerfEventSpec): void {
    this.assertPhase('prepare perf events', true);
    for (const p of this.spec.programs) {
      if (!p.autoload || p.section !== 'perf_event' || this.preparedPerfLinks.has(p.name)) continue;
      this.preparedPerfLinks.set(p.name, preparePerfEventLink(this.programHandle(p.name), p, event));
    }
  }

  /** Perf events opened by preparePerfEvents and not yet enabled (tests, benchmarks). */
  get preparedPerfEventCount(): number {
    return [...this.preparedPerfLinks.values()].reduce((n, l) => n + l.cpus.length, 0);
  }

  private takePrepared(programName: string, options: AttachOptions): PreparedPerfLink | undefined {
    const prepared = this.preparedPerfLinks.get(programName);
    if (!prepared) return undefined;
    this.preparedPerfLinks.delete(programName);
    if (options.perfEvent && samePerfEvent(prepared.event, options.perfEvent) && sameCpus(prepared.cpus, onlineCpus())) return prepared;
    prepared.destroy();
    return undefined;
  }

  /** Attaches every loaded program; returns the links. A bare SEC("tracepoint") names no
   * tracepoint: it is a tail-call target, loaded but not attached (as in libbpf's skeletons). */
  attachAll(options: AttachOptions = {}): BpfLink[] {
    return this.spec.programs.filter((p) => p.autoload && p.section !== 'tracepoint').map((p) => this.attach(p.name, options));
  }

  /**
   * attachAll with tracepoint attaches on koffi's threads, all at once: the event loop goes on meanwhile.
   * A program declared with SHERLOCK_CHAINED_RAW_PROG joins its hook's chain instead (hook-chain.ts).
   */
  async attachAllAsync(options: AttachOptions = {}): Promise<BpfLink[]> {
    this.assertPhase('attach', true);
    const programs = this.spec.programs.filter((p) => p.autoload && p.section !== 'tracepoint');
    const prepared = programs.map((p) => this.takePrepared(p.name, options));
    const chaining = programs.map((p, i) => (prepared[i] ? undefined : this.joinChain(p)));
    const rest = programs.filter((_, i) => !prepared[i] && !chaining[i]);
    const attaching = attachProgramsAsync(
      rest.map((spec) => ({ prog: this.programHandle(spec.name), spec })),
      options,
    );
    const settled = await Promise.allSettled(programs.map((p, i) => prepared[i]?.enableAsync() ?? chaining[i] ?? attaching[rest.indexOf(p)]!));
    // Kept even when one failed: close() or detachAll() then frees them with the rest.
    for (const s of settled) if (s.status === 'fulfilled') this.links.push(s.value);
    if (!this.handle) {
      for (const link of this.links.splice(0)) link.destroy();
      throw new Error(`${this.spec.path} was closed while it attached`);
    }
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<BpfLink>).value);
  }

  /** A chained program joins its hook's chain; one the chain refuses (full, or its head failed) attaches on its own. */
  private joinChain(spec: ProgramSpec): Promise<BpfLink> | undefined {
    const [kind, hook] = spec.section.split('/');
    const next = this.maps.get(`${spec.name}_next`);
    if (!hookChainingEnabled() || (kind !== 'raw_tp' && kind !== 'raw_tracepoint') || !hook || next?.type !== 'prog_array') return undefined;
    const prog = this.programHandle(spec.name);
    return joinHookChain(hook, lib().bpf_program__fd(prog), next.fd).then(
      (member) => {
        this.chained.set(spec.name, member);
        return { program: spec.name, target: `${hook} (chained)`, destroy: () => member.leave(), destroyAsync: async () => member.leave() };
      },
      () => attachProgramAsync(prog, spec, {}),
    );
  }

  /** Runs of a program the kernel skipped (another BPF program was running on that CPU), in a hook chain or not. */
  missedRuns(programName: string): number {
    const own = programStats(this.programFd(programName)).recursionMisses;
    return Number(own + (this.chained.get(programName)?.missedRuns() ?? 0n));
  }

  /** Detaches every program; maps stay readable until close(). */
  async detachAll(): Promise<void> {
    // In parallel and off the event loop: each detach waits for an RCU grace period.
    await Promise.all(this.links.splice(0).map((link) => link.destroyAsync()));
  }

  /** Detaches every link and frees the object; safe to call twice. */
  close(): void {
    if (!this.handle) return;
    // The native load still reads the object on its thread: free it once that returns.
    if (this.loading) {
      this.closeWhenLoaded = true;
      return;
    }
    for (const link of this.links.splice(0)) link.destroy();
    for (const prepared of this.preparedPerfLinks.values()) prepared.destroy();
    this.preparedPerfLinks.clear();
    this.emptyProgArrays();
    lib().bpf_object__close(this.handle);
    this.handle = null;
    for (const map of this.maps.values()) map.markClosed();
    this.maps.clear();
    openObjects.delete(this);
  }

  // A prog array and the programs in it hold each other: left full, the kernel
  // empties it in a workqueue after close and those programs outlive us by ms.
  private emptyProgArrays(): void {
    for (const map of this.maps.values()) {
      if (map.type !== 'prog_array') continue;
      const key = Buffer.alloc(4);
      for (let slot = 0; slot < map.maxEntries; slot++) {
        key.writeUInt32LE(slot);
        try {
          map.delete(key);
        } catch {
          // close() must not throw; the kernel empties it later
        }
      }
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  get isOpen(): boolean {
    return Boolean(this.handle);
  }

  get isLoaded(): boolean {
    return this.loaded && this.isOpen;
  }

  /** Kernel memory its maps and programs hold (the memlock each fd reports), in bytes. */
  kernelMemoryBytes(): number {
    this.assertPhase('measure', true);
    const fds = [...this.maps.values()].map((m) => m.fd);
    for (const p of this.spec.programs) if (p.autoload) fds.push(this.programFd(p.name));
    return fds.reduce((sum, fd) => sum + memlockOf(fd), 0);
  }

  private programHandle(name: string): Handle {
    const handle = this.programHandles.get(name);
    if (!handle) throw new TypeError(`${this.spec.path} has no program "${name}"`);
    return handle;
  }

  private mapHandle(name: string): Handle {
    const handle = this.mapHandles.get(name);
    if (!handle) throw new TypeError(`${this.spec.path} has no map "${name}"`);
    return handle;
  }

  private assertPhase(action: string, mustBeLoaded: boolean): void {
    if (!this.handle) throw new Error(`cannot ${action}: ${this.spec.path} is closed`);
    if (this.loaded !== mustBeLoaded) {
      throw new Error(`cannot ${action} ${mustBeLoaded ? 'before' : 'after'} ${this.spec.path} is loaded`);
    }
  }
}

function samePerfEvent(a: PerfEventSpec, b: PerfEventSpec): boolean {
  return a.type === b.type && a.config === b.config && a.frequency === b.frequency && a.period === b.period;
}

function sameCpus(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((cpu, i) => cpu === b[i]);
}

function memlockOf(fd: number): number {
  try {
    const match = /^memlock:\s+(\d+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

function checkReadableFile(path: string): void {
  try {
    if (!statSync(path).isFile()) throw new ObjectFileError(path, 'not a regular file');
    accessSync(path, fsConstants.R_OK);
  } catch (err) {
    if (err instanceof ObjectFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ObjectFileError(path, code === 'ENOENT' ? 'no such file (run `make bpf` to build the objects)' : String(code));
  }
}

function encodeVariable(variable: VariableSpec, value: RodataValue, target: Buffer): void {
  const fail = (allowed: string) =>
    new TypeError(`rodata ${variable.name} (${variable.kind}, ${variable.size} bytes) takes ${allowed}, got ${JSON.stringify(String(value))}`);
  switch (variable.kind) {
    case 'bool':
      if (typeof value !== 'boolean') throw fail('true or false');
      target.writeUInt8(value ? 1 : 0, 0);
      return;
    case 'chars': {
      if (typeof value !== 'string') throw fail('a string');
      const bytes = Buffer.from(value, 'utf8');
      if (bytes.length >= variable.size) throw fail(`a string of at most ${variable.size - 1} bytes`);
      target.fill(0);
      bytes.copy(target);
      return;
    }
    case 'int':
    case 'uint': {
      if (typeof value !== 'number' && typeof value !== 'bigint') throw fail('an integer');
      if (typeof value === 'number' && !Number.isInteger(value)) throw fail('an integer');
      const bits = BigInt(variable.size * 8);
      const n = BigInt(value);
      const [min, max] = variable.kind === 'int' ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
      if (n < min || n > max) throw fail(`an integer in [${min}, ${max}]`);
      let u = BigInt.asUintN(Number(bits), n);
      for (let i = 0; i < variable.size; i++, u >>= 8n) target[i] = Number(u & 0xffn);
      return;
    }
    default:
      throw fail('nothing settable from JS (not an integer, bool or char array)');
  }
}
