// The flame tree (tree.ts) built one sample at a time in typed arrays, for
// profiles read as a stream: a node costs about 60 bytes instead of ~240, and
// the tree never holds more than `maxNodes`. Past that, the narrowest half is
// cut away (their time stays in their parents' widths, as frames too narrow to
// draw do); stacks arrive heaviest first, so what is cut is what no drawing
// keeps. Laid out exactly as flamegraph.ts lays out a FlameNode tree.
import type { Frame } from '../symbolize/types.js';
import type { NodeKind } from './tree.js';
import { cleanName } from './names.js';
import type { PlacedFrame } from './flamegraph.js';

/** Nodes a tree keeps by default (~6 MB): every frame of any profile a page can draw. */
export const DEFAULT_TREE_NODES = 100_000;
/** Node ids stay below this. */
const KEY_SPAN = 2 ** 24;
const hashOf = (parent: number, nameId: number) => (Math.imul(nameId, 0x9e3779b1) ^ Math.imul(parent, 0x85ebca77)) >>> 0;

const KINDS: NodeKind[] = ['root', 'process', 'user', 'kernel', 'jit', 'unknown'];
const KIND_ID = new Map(KINDS.map((k, i) => [k, i]));

export class CompactFlameTree {
  readonly maxNodes: number;
  private names: string[] = [];
  private nameIds = new Map<string, number>();
  private parent: Int32Array;
  private nameOf: Int32Array;
  private kind: Uint8Array;
  private value: Float64Array;
  private self: Float64Array;
  private files = new Map<number, string>();
  private inlined = new Set<number>();
  /** Open-addressed (parent, name) → node + 1, in a typed array: off the JS heap, which V8 lets grow to several times what lives in it. */
  private slots = new Int32Array(8192);
  private count = 1;
  /** Nodes cut away so far (0: the tree is whole). */
  cutNodes = 0;
  private cutStacks = 0;

  constructor(maxNodes = DEFAULT_TREE_NODES) {
    this.maxNodes = Math.max(16, Math.min(maxNodes, KEY_SPAN - 1));
    const size = Math.min(this.maxNodes, 4096);
    this.parent = new Int32Array(size);
    this.nameOf = new Int32Array(size);
    this.kind = new Uint8Array(size);
    this.value = new Float64Array(size);
    this.self = new Float64Array(size);
    this.parent[0] = -1;
    this.nameOf[0] = this.intern('all');
  }

  get total(): number {
    return this.value[0]!;
  }

  get nodes(): number {
    return this.count;
  }

  /** Distinct stacks: nodes where at least one ends (plus those cut away). */
  get stackCount(): number {
    let n = this.cutStacks;
    for (let i = 0; i < this.count; i++) if (this.self[i]! > 0) n++;
    return n;
  }

  /** One sample: its process root ("comm" or "comm-pid"), then its frames root first. */
  add(processRoot: string, frames: readonly Pick<Frame, 'name' | 'kind' | 'file' | 'inlined'>[], value: number): void {
    if (!(value > 0)) return;
    this.value[0]! += value;
    let at = this.child(0, cleanName(processRoot), 'process');
    this.value[at]! += value;
    for (const frame of frames) {
      const next = this.child(at, cleanName(frame.name), frame.kind, frame);
      this.value[next]! += value;
      at = next;
    }
    this.self[at]! += value;
  }

  private intern(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return id;
  }

  private child(parent: number, name: string, kind: NodeKind, frame?: Pick<Frame, 'file' | 'inlined'>): number {
    const nameId = this.intern(name);
    const mask = this.slots.length - 1;
    let slot = hashOf(parent, nameId) & mask;
    for (let id = this.slots[slot]! - 1; id >= 0; id = this.slots[slot]! - 1) {
      if (this.nameOf[id] === nameId && this.parent[id] === parent) return id;
      slot = (slot + 1) & mask;
    }
    if (this.count >= this.maxNodes) {
      parent = this.cut(parent);
      return this.child(parent, name, kind, frame);
    }
    if (this.count >= this.parent.length) this.grow();
    const id = this.count++;
    this.parent[id] = parent;
    this.nameOf[id] = nameId;
    this.kind[id] = KIND_ID.get(kind) ?? KIND_ID.get('unknown')!;
    this.value[id] = 0;
    this.self[id] = 0;
    if (frame?.file) this.files.set(id, frame.file);
    if (frame?.inlined) this.inlined.add(id);
    this.slots[slot] = id + 1;
    if (this.count * 2 > this.slots.length) this.reindex(this.slots.length * 2);
    return id;
  }

  /** Rebuilds the (parent, name) index at `size` slots (a power of two, at least twice the nodes). */
  private reindex(size: number): void {
    this.slots = new Int32Array(size);
    const mask = size - 1;
    for (let id = 1; id < this.count; id++) {
      let slot = hashOf(this.parent[id]!, this.nameOf[id]!) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = id + 1;
    }
  }

  private grow(): void {
    const size = Math.min(this.maxNodes, this.parent.length * 2);
    const widen = <T extends Int32Array | Uint8Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.parent = widen(this.parent);
    this.nameOf = widen(this.nameOf);
    this.kind = widen(this.kind);
    this.value = widen(this.value);
    this.self = widen(this.self);
  }

  /**
   * Keeps the widest half of the nodes (a node is never narrower than a child,
   * so what stays is still a tree); returns where `keep` went: itself, or its
   * widest kept ancestor when it was cut. The sample being added goes on from there.
   */
  private cut(keep: number): number {
    const widths = this.value.slice(1, this.count).sort();
    const threshold = widths[widths.length - Math.floor(this.maxNodes / 2)] ?? 0;
    const path = new Set<number>();
    for (let at = keep; at >= 0; at = this.parent[at]!) path.add(at);
    const newId = new Int32Array(this.count).fill(-1);
    newId[0] = 0;
    let next = 1;
    // A parent's id is below its children's (made first, renumbered in order), so one pass sees it first.
    for (let i = 1; i < this.count; i++) {
      const p = newId[this.parent[i]!]!;
      // The node being added to stays whatever its width (its parents are at least as wide).
      if (p < 0 || (this.value[i]! <= threshold && !path.has(i))) {
        if (this.self[i]! > 0) this.cutStacks++;
        continue;
      }
      newId[i] = next;
      this.parent[next] = p;
      this.nameOf[next] = this.nameOf[i]!;
      this.kind[next] = this.kind[i]!;
      this.value[next] = this.value[i]!;
      this.self[next] = this.self[i]!;
      next++;
    }
    this.cutNodes += this.count - next;
    const files = new Map<number, string>();
    for (const [id, file] of this.files) if (newId[id]! >= 0) files.set(newId[id]!, file);
    const inlined = new Set<number>();
    for (const id of this.inlined) if (newId[id]! >= 0) inlined.add(newId[id]!);
    this.files = files;
    this.inlined = inlined;
    this.count = next;
    this.reindex(this.slots.length);
    return newId[keep]!;
  }

  /** Widths (px, at `plotWidth` for the total) of every node at least `minWidth` wide, the root included. */
  widths(plotWidth: number, minWidth: number): Float64Array {
    const scale = this.total > 0 ? plotWidth / this.total : 0;
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const w = this.value[i]! * scale;
      if (w >= minWidth) out.push(w);
    }
    return Float64Array.from(out);
  }

  /** The frames drawn at `minWidth`, in the order and at the places flamegraph.ts's place() gives a FlameNode tree. */
  place(plotWidth: number, minWidth: number): PlacedFrame[] {
    const scale = this.total > 0 ? plotWidth / this.total : 0;
    // Children lists (every child: the narrow ones still take their place in x).
    const firstChild = new Int32Array(this.count).fill(-1);
    const nextSibling = new Int32Array(this.count).fill(-1);
    for (let i = this.count - 1; i >= 1; i--) {
      const p = this.parent[i]!;
      nextSibling[i] = firstChild[p]!;
      firstChild[p] = i;
    }
    const byName = (a: number, b: number) => {
      const x = this.names[this.nameOf[a]!]!;
      const y = this.names[this.nameOf[b]!]!;
      return x < y ? -1 : x > y ? 1 : 0;
    };
    const out: PlacedFrame[] = [];
    const stack: { id: number; depth: number; x: number; w: number }[] = [{ id: 0, depth: 0, x: 0, w: this.value[0]! * scale }];
    while (stack.length) {
      const p = stack.pop()!;
      out.push({ node: this.frameOf(p.id), depth: p.depth, x: p.x, w: p.w });
      const children: number[] = [];
      for (let c = firstChild[p.id]!; c >= 0; c = nextSibling[c]!) children.push(c);
      children.sort(byName);
      let x = p.x;
      const next: typeof stack = [];
      for (const c of children) {
        const w = this.value[c]! * scale;
        if (w >= minWidth) next.push({ id: c, depth: p.depth + 1, x, w });
        x += w;
      }
      for (let i = next.length - 1; i >= 0; i--) stack.push(next[i]!);
    }
    return out;
  }

  private frameOf(id: number): PlacedFrame['node'] {
    const file = this.files.get(id);
    return {
      name: this.names[this.nameOf[id]!]!,
      kind: KINDS[this.kind[id]!]!,
      value: this.value[id]!,
      ...(file ? { file } : {}),
      ...(this.inlined.has(id) ? { inlined: true } : {}),
    };
  }
}
