// The collector both stack captures (profile, offcputime) share: announce
// processes while running, then at the end read counts and stacks, and
// symbolize once per stack. Also what their tables and texts print.
import type { BpfObject } from '../../libbpf/index.js';
import type { StackSample } from '../../stacks/types.js';
import { createSymbolizer } from '../../symbolize/index.js';
import type { Frame } from '../../symbolize/types.js';
import type { Collector } from '../capture.js';
import {
  innermost,
  ProcessAnnouncer,
  readCounts,
  readLostStacks,
  symbolizeStacks,
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
  /** Stacks lost because the stack map had no room (the samples are kept without them). */
  lostStacks: LostStacks;
  /** Rows in the table and text (all stacks stay in `stacks`). */
  top: number;
  /** Why kernel frames are named by address, when they are. */
  kernelSymbolsProblem?: string;
}

export interface StackCaptureSpec<V, S extends StackSample, D> {
  /** A value of the map "counts". */
  decodeValue(data: Buffer): V;
  toSample(key: StackKey, frames: Frame[], value: V): S;
  /** Adds `from` into `into` (two stack ids that symbolize to the same frames). */
  merge(into: S, from: S): void;
  /** The capture's data from its stacks, heaviest first. */
  finish(stacks: S[], lostStacks: LostStacks, kernelSymbolsProblem: string | undefined): D;
}

export function collectStacks<V, S extends StackSample, D>(object: BpfObject, spec: StackCaptureSpec<V, S, D>): Collector<D> {
  const symbolizer = createSymbolizer();
  const announcer = new ProcessAnnouncer(object, symbolizer);
  return {
    poll: () => announcer.poll(),
    finish: () => {
      announcer.poll();
      const counted = readCounts(object, spec.decodeValue);
      // Processes the kernel could not announce (its set was full): now, if still alive.
      for (const { key } of counted) if (key.userStackId >= 0) announcer.note(key.tgid);
      const stacks = symbolizeStacks(
        object.map('stacks'),
        symbolizer,
        counted,
        spec.toSample,
        spec.merge as (into: StackSample, from: StackSample) => void,
      ) as S[];
      stacks.sort((a, b) => b.value - a.value);
      return spec.finish(stacks, readLostStacks(object), symbolizer.kernelProblem());
    },
    close: () => {
      announcer.close();
      symbolizer.close();
    },
  };
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
