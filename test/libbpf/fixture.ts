// Helpers for the binding's tests around test/bpf/fixture/fixture.bpf.c:
// open/load it with settings, trigger its programs from this process, decode
// its maps, and check that nothing it loaded outlives the test.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import koffi from 'koffi';
import {
  BpfObject,
  PERF_COUNT_SW_CPU_CLOCK,
  PERF_TYPE_SOFTWARE,
  programStats,
  type BpfMap,
  type PerfEventSpec,
  type RodataValue,
} from '../../src/libbpf/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { bpfHandlesOf, fixtureObject, kernelSkipReason, loadedProgramsNamed, stillLoaded } from '../helpers/kernel.js';

export { fixtureObject };

/** Why kernel tests cannot run here (undefined when they can), and a suite title saying so. */
export const kernelSkip = kernelSkipReason();
export const kernelTitle = (title: string): string => (kernelSkip ? `${title} (skipped: ${kernelSkip})` : title);
export const FIXTURE_PROGRAMS = ['on_getppid', 'on_getpgid', 'on_sample'];
export const unsupportedObject = join(projectRoot, 'build', 'test-bpf', 'unsupported', 'unsupported.bpf.o');
export const UNSUPPORTED_PROGRAMS = ['on_kprobe', 'on_fentry'];
export const distIndex = join(projectRoot, 'dist', 'src', 'libbpf', 'index.js');
export const distCli = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

/** Why tests that run the compiled code cannot run, or undefined. */
export function distSkipReason(): string | undefined {
  return existsSync(distCli) && existsSync(distIndex) ? undefined : 'needs dist/ (run `npx tsc -p tsconfig.build.json`)';
}

/** The CPU-sampling event on_sample is attached to. */
export const cpuClock: PerfEventSpec = { type: PERF_TYPE_SOFTWARE, config: PERF_COUNT_SW_CPU_CLOCK, frequency: 1000 };

export interface FixtureSettings {
  rodata?: Record<string, RodataValue>;
  maxEntries?: Record<string, number>;
  /** Programs not to load. */
  skip?: string[];
}

const opened: BpfObject[] = [];
// Ids of the fixture programs this process loaded. Other test files (and the
// ring-buffer benchmark) may load the same programs concurrently, so "left
// behind" means one of *our* ids is still loaded, not merely the name.
const loadedIds = new Set<number>();

/** Opens the fixture and applies settings; closed by closeFixtures(). */
export function openFixture(settings: FixtureSettings = {}, path = fixtureObject): BpfObject {
  const obj = BpfObject.open(path);
  opened.push(obj);
  if (settings.rodata) obj.setRodata(settings.rodata);
  for (const [map, n] of Object.entries(settings.maxEntries ?? {})) obj.setMaxEntries(map, n);
  for (const name of settings.skip ?? []) obj.setAutoload(name, false);
  return obj;
}

/** Opens and loads the fixture, acting for this process (trigger_tgid = pid). */
export function loadFixture(settings: FixtureSettings = {}): BpfObject {
  return loadOpened(openFixture({ ...settings, rodata: { trigger_tgid: process.pid, ...settings.rodata } }));
}

/** Loads an object from openFixture(), noting its program ids for leftoverPrograms(). */
export function loadOpened(obj: BpfObject): BpfObject {
  obj.load();
  for (const p of obj.spec.programs) if (p.autoload) loadedIds.add(programId(obj, p.name));
  return obj;
}

export function programId(obj: BpfObject, name: string): number {
  return programStats(obj.programFd(name)).id;
}

/** Closes every object the helpers opened (afterEach). */
export function closeFixtures(): void {
  for (const obj of opened.splice(0)) obj.close();
}

/** Fixture programs loaded by this process that are still in the kernel. */
export function leftoverPrograms(): Array<{ id: number; name?: string }> {
  const left = new Set(stillLoaded([...loadedIds])); // waits out the kernel's deferred free
  return loadedProgramsNamed(FIXTURE_PROGRAMS).filter((p) => left.has(p.id));
}

/** After closeFixtures(): this process holds no BPF fds and none of its fixture programs is loaded. */
export function expectNothingLeft(): void {
  const handles = bpfHandlesOf();
  const leftover = leftoverPrograms();
  if (handles.programIds.length || handles.links || handles.maps || leftover.length) {
    throw new Error(`BPF objects left behind: ${JSON.stringify({ handles, leftover })}`);
  }
}

/** Makes n getppid() calls: Node calls getppid(2) each time process.ppid is read. */
export function triggerGetppid(n: number): number {
  for (let i = 0; i < n; i++) void process.ppid;
  return n;
}

let getpgid: ((pid: number) => number) | undefined;
/** Makes n getpgid(0) calls through libc. */
export function triggerGetpgid(n: number): number {
  getpgid ??= koffi.load('libc.so.6').func('int getpgid(int pid)') as (pid: number) => number;
  for (let i = 0; i < n; i++) getpgid(0);
  return n;
}

/** Spends about `ms` of CPU in this thread. */
export function burnCpu(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
  return x;
}

export function u32Key(n: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(n);
  return key;
}

export function u64Value(n: bigint | number): Buffer {
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(BigInt(n));
  return value;
}

/** A u64 map value, or undefined when the key is absent. */
export function readU64(map: BpfMap, key: number): bigint | undefined {
  return map.lookup(u32Key(key))?.readBigUInt64LE(0);
}

/** counts[tgid]: getppid() calls by this process (key 0: getpgid() calls). */
export function readCount(obj: BpfObject, key = process.pid): bigint | undefined {
  return readU64(obj.map('counts'), key);
}

/** A per-CPU u64 slot summed over every CPU. */
export function sumPerCpu(map: BpfMap, key = 0): bigint {
  const value = map.lookup(u32Key(key));
  return value ? map.perCpuValues(value).reduce((sum, v) => sum + v.readBigUInt64LE(0), 0n) : 0n;
}

/** struct fixture_seen, from map "seen" slot 0: rodata as the program saw it. */
export interface FixtureSeen {
  u32v: number;
  boolv: number;
  u64v: bigint;
  comm: string;
}

export function readSeen(obj: BpfObject): FixtureSeen {
  const raw = obj.map('seen').lookup(u32Key(0));
  if (!raw || raw.length !== 32) throw new Error(`map seen slot 0: expected 32 bytes, got ${raw?.length}`);
  const comm = raw.subarray(16, 32);
  const nul = comm.indexOf(0);
  return {
    u32v: raw.readUInt32LE(0),
    boolv: raw.readUInt32LE(4),
    u64v: raw.readBigUInt64LE(8),
    comm: comm.toString('utf8', 0, nul < 0 ? comm.length : nul),
  };
}

/** struct fixture_record, one ring-buffer record. */
export interface FixtureRecord {
  seq: bigint;
  tgid: number;
  cpu: number;
}

export function decodeRecord(data: Buffer): FixtureRecord {
  if (data.length !== 16) throw new Error(`fixture_record: expected 16 bytes, got ${data.length}`);
  return { seq: data.readBigUInt64LE(0), tgid: data.readUInt32LE(8), cpu: data.readUInt32LE(12) };
}
