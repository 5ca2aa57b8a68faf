// The collector both stack captures (profile, offcputime) share: announce
// processes while running, then at the end read counts and stacks, and
// symbolize once per stack. Also what their tables and texts print.
import type { BpfObject } from '../../libbpf/index.js';
import type { StackSample } from '../../stacks/types.js';
import { createSymbolizer } from '../../symbolize/index.js';
import { requestJvmPerfMaps } from '../../symbolize/jvm-perf-map.js';
import { addSourceLines, type SourceLinesSummary } from '../../symbolize/source-lines.js';
import type { Frame } from '../../symbolize/types.js';
import type { Collector } from '../capture.js';
import { PythonStacks } from './python-stacks.js';
import { JsStacks } from './js-stacks.js';
import { countSnapshots, type SnapshotOptions, type UnwindSummary } from './snapshots.js';
import {
  describeLost,
  innermost,
  ProcessAnnouncer,
  readCounts,
  readLostStacks,
  symbolizeStacks,
  type CountedStack,
  type LostStacks,
  type StackKey,
} from './stack-maps.js';

/** What every stacks-kind result of these captures holds besides its own fields. */
export interface StackData<S extends StackSample = StackSample> {
  /** Heaviest first. */
  stacks: S[];
  /** What `value` counts (StackProfile.sampleType). */
  sampleType: { type: string; unit: string };
  /** Nanoseconds between samples, for CPU profiles. */
  periodNs?: number;
  /** Sum of every stack's value. */
  total: number;
  /** Stacks lost, by reason (map full, hash collision, snapshot ring buffer full). */
  lostStacks: LostStacks;
  /** How user stacks were unwound from snapshots (absent: frame pointers in the kernel). */
  unwind?: UnwindSummary;
  /** Addresses outside every mapping, dropped from frame-pointer stacks (never drawn). */
  unmappedDropped?: number;
  /** File, line and inlined frames from DWARF: how many, and why none when none could be read. */
  sourceLines?: SourceLinesSummary;
  /** Rows in the table and text (all stacks stay in `stacks`). */
  top: number;
  /** Why kernel frames are named by address, when they are. */
  kernelSymbolsProblem?: string;
  /** A process's own name (its main thread's), by pid, where its stacks' threads are named otherwise (a JVM's "pool-1-thread-7" is "java"). */
  processNames?: Record<string, string>;
}

export interface StackCaptureSpec<V, S extends StackSample, D> {
  /** A value of the map "counts". */
  decodeValue(data: Buffer): V;
  toSample(key: StackKey, frames: Frame[], value: V): S;
  /** Adds `from` into `into` (two stack ids that symbolize to the same frames). */
  merge(into: S, from: S): void;
  /** The capture's data from its stacks, heaviest first; `gaps` goes into StackData as is. */
  finish(stacks: S[], lostStacks: LostStacks, kernelSymbolsProblem: string | undefined, gaps: StackGaps): D;
  /** User stacks come as snapshots unwound here (the run's userStackBytes > 0). */
  snapshots?: SnapshotOptions<V>;
  /** The processes targeted by pid: their maps are read, and a Python runtime registered, before the first sample. */
  targetPids?: readonly number[];
  /** Ask the JVMs sampled for their perf map before naming frames (params.jvmPerfMaps). */
  jvmPerfMaps?: boolean;
  /** Read the moment the window ends: what is still being counted (blocks not ended), by stack key, and by thread where the user stack is a snapshot. */
  openAtEnd?: () => OpenCounts<V>;
}

/** Values the kernel has not added to its counts yet when the window ends. */
export interface OpenCounts<V> {
  counted: CountedStack<V>[];
  /** By thread: the value of the snapshot that thread's open block began with. */
  snapshotValues: Map<number, V>;
  /** By thread: the slot of its START an open block repeats (offcputime), when it sent no snapshot of its own. */
  repeatSlots?: Map<number, number>;
}

/** What a stack capture says about stacks it could not walk whole (spread into its data). */
export interface StackGaps {
  unwind?: UnwindSummary;
  unmappedDropped: number;
  sourceLines?: SourceLinesSummary;
  processNames?: Record<string, string>;
}

/** Processes a capture targets by pid, noted before its programs attach (more are noted as their samples come). */
const MAX_NOTED_AHEAD = 64;

export function collectStacks<V, S extends StackSample, D>(object: BpfObject, spec: StackCaptureSpec<V, S, D>): Collector<D> {
  const symbolizer = createSymbolizer();
  // Python frames are walked in the kernel next to a snapshot: only with snapshots.
  const python = spec.snapshots ? new PythonStacks(object) : undefined;
  const announcer = new ProcessAnnouncer(object, symbolizer, python && ((pid) => python.noted(pid)));
  // JavaScript frames are named from the stack copy: only with snapshots.
  const js = spec.snapshots ? new JsStacks() : undefined;
  const snapshots = spec.snapshots
    ? countSnapshots(object, symbolizer, { ...spec.snapshots, ...(python ? { python } : {}), ...(js ? { js } : {}) })
    : undefined;
  // Noted when the kernel announces them, a process's first samples (up to a drain or more) would go
  // unwalked: its Python frames missing, its eval loop standing in their place.
  for (const pid of (spec.targetPids ?? []).slice(0, MAX_NOTED_AHEAD)) announcer.note(pid);
  const poll = () => {
    announcer.poll(); // first: a process's maps are read before its snapshots are unwound
    snapshots?.poll();
  };
  let open: OpenCounts<V> | undefined;
  return {
    poll,
    windowEnded: () => {
      open = spec.openAtEnd?.();
    },
    finish: async () => {
      announcer.poll();
      snapshots?.finish();
      if (open) snapshots?.closeOpen(open.snapshotValues, open.repeatSlots);
      const counted = [...readCounts(object, spec.decodeValue), ...(open?.counted ?? []), ...(snapshots?.counted() ?? [])];
      // Processes the kernel could not announce (its set was full): now, if still alive.
      for (const { key } of counted) if (key.userStackId >= 0) announcer.note(key.tgid);
      if (spec.jvmPerfMaps) for (const pid of await requestJvmPerfMaps(counted.map(({ key }) => key.tgid))) symbolizer.reloadPerfMap(pid);
      const gaps: { snapshotBytes: number; maxDepth: number; unmappedDropped: number; sourceLines?: SourceLinesSummary } = {
        snapshotBytes: spec.snapshots?.snapshotBytes ?? 0,
        maxDepth: spec.snapshots?.maxDepth ?? 0,
        unmappedDropped: 0,
      };
      const stacks = symbolizeStacks(
        object.map('stacks'),
        symbolizer,
        counted,
        spec.toSample,
        spec.merge as (into: StackSample, from: StackSample) => void,
        gaps,
      ) as S[];
      gaps.sourceLines = await addSourceLines(stacks); // once for the capture: one llvm-symbolizer run per module
      stacks.sort((a, b) => b.value - a.value);
      const unwind = snapshots?.summary();
      const processNames = namesOf(stacks, announcer);
      return spec.finish(stacks, readLostStacks(object), symbolizer.kernelProblem(), {
        ...(unwind ? { unwind } : {}),
        ...(Object.keys(processNames).length ? { processNames } : {}),
        unmappedDropped: gaps.unmappedDropped + (unwind?.unmappedDropped ?? 0),
        ...(gaps.sourceLines ? { sourceLines: gaps.sourceLines } : {}),
      });
    },
    close: () => {
      snapshots?.close();
      python?.close();
      js?.close();
      announcer.close();
      symbolizer.close();
    },
  };
}

/** Processes whose own name is not their stacks' threads' name (runtimes name their threads), by pid. */
function namesOf(stacks: StackSample[], announcer: ProcessAnnouncer): Record<string, string> {
  const own = new Map<number, string | undefined>();
  const names: Record<string, string> = {};
  for (const s of stacks) {
    if (!own.has(s.pid)) own.set(s.pid, announcer.nameOf(s.pid));
    const name = own.get(s.pid);
    if (name && name !== s.comm) names[s.pid] = name;
  }
  return names;
}

/** The capture text's lines on stacks not walked whole: lost stacks, truncated walks, missing unwind info. */
export function describeGaps(data: StackData): string[] {
  const lines: string[] = [];
  const lost = describeLost(data.lostStacks);
  if (lost) lines.push(lost);
  const u = data.unwind;
  if (u && u.snapshots) {
    const root = u.ends.root ?? 0;
    const parts = [
      u.ends.snapshot && `${u.ends.snapshot} truncated by the ${Math.round(u.snapshotBytes / 1024)} KiB stack copy (raise --user-stack-bytes)`,
      u.ends.depth && `${u.ends.depth} truncated at depth ${u.maxDepth}`,
      u.ends['no-unwind-info'] &&
        `${u.ends['no-unwind-info']} stopped without unwind info (${Object.entries(u.noUnwindInfo)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([m, n]) => `${m}: ${n}`)
          .join(', ')})`,
      u.ends.unmapped && `${u.ends.unmapped} stopped at an address outside every mapping`,
      u.ends['bad-frame'] && `${u.ends['bad-frame']} stopped at a bad frame`,
      u.queueDropped && `${u.queueDropped} snapshots dropped waiting to be unwound`,
    ].filter(Boolean);
    lines.push(
      `user stacks unwound by CFI from ${Math.round(u.snapshotBytes / 1024)} KiB copies: ${pct(root, u.snapshots)} reached the thread's entry` +
        (parts.length ? `; ${parts.join(', ')}` : ''),
    );
  }
  const py = u?.python;
  if (py) {
    const versions = [...new Set(Object.values(py.processes).map((p) => `CPython ${p.split(' ')[0]}`))];
    const parts = [
      py.unreadable && `${py.unreadable} frames with an unreadable code object`,
      py.truncated && `${py.truncated} stacks cut at 128 Python frames`,
      py.faults && `${py.faults} walks stopped at an unreadable frame`,
      py.lost && `${py.lost} samples' Python frames lost: ring buffer full`,
    ].filter(Boolean);
    if (py.samples)
      lines.push(`Python frames (${versions.join(', ')}) in ${py.samples} of ${u.snapshots} user stacks` + (parts.length ? `; ${parts.join(', ')}` : ''));
    for (const [pid, problem] of Object.entries(py.unsupported).slice(0, 3)) lines.push(`Python frames not walked for pid ${pid}: ${problem}`);
  }
  const js = u?.js;
  if (js?.frames) lines.push(`JavaScript frames named from V8's objects: ${js.frames} in ${Object.keys(js.processes).length} processes`);
  for (const [pid, problem] of Object.entries(js?.unsupported ?? {}).slice(0, 3)) lines.push(`JavaScript frames not named for pid ${pid}: ${problem}`);
  if (data.sourceLines?.problem) lines.push(`source lines: ${data.sourceLines.problem}`);
  if (data.unmappedDropped) lines.push(`${data.unmappedDropped} addresses outside every mapping dropped`);
  return lines;
}

export const sumValues = (stacks: StackSample[]): number => stacks.reduce((a, s) => a + s.value, 0);

export function pct(part: number, total: number): string {
  return total > 0 ? `${((part / total) * 100).toFixed(1)}%` : '-';
}

/** The frame a stack ends in: its leaf. */
export const leafOf = (s: StackSample): Frame | undefined => s.frames.at(-1);

export const USER_KINDS: Frame['kind'][] = ['user', 'jit', 'unknown'];

/** The innermost user-space frame (JIT included). */
export const userLeafOf = (s: StackSample): Frame | undefined => innermost(s.frames, USER_KINDS);

export interface FunctionRow {
  name: string;
  module: string;
  /** Value where it is the leaf. */
  self: number;
  /** Value of the stacks it is in (once per stack, recursion or not). */
  total: number;
}

/** Functions by self value (ties by total), heaviest first. */
export function topFunctions(stacks: StackSample[], leafOfStack: (s: StackSample) => Frame | undefined = leafOf): FunctionRow[] {
  const rows = new Map<string, FunctionRow>();
  const row = (f: Frame) => {
    const module = f.module ?? (f.kind === 'jit' ? '[jit]' : '');
    const id = `${f.name}\0${module}`;
    let r = rows.get(id);
    if (!r) rows.set(id, (r = { name: f.name, module, self: 0, total: 0 }));
    return r;
  };
  for (const s of stacks) {
    const leaf = leafOfStack(s);
    if (leaf) row(leaf).self += s.value;
    const inStack = new Set<FunctionRow>();
    for (const f of s.frames) inStack.add(row(f));
    for (const r of inStack) r.total += s.value;
  }
  return [...rows.values()].sort((a, b) => b.self - a.self || b.total - a.total);
}

/** Plain aligned columns (numbers right-aligned), the last column free. */
export function columns(headers: string[], rows: string[][], numeric: ReadonlySet<number>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export const moduleLabel = (f: Frame | undefined): string => (f ? (f.module ?? (f.kind === 'jit' ? '[jit]' : '-')) : '-');
