// Samples merged into a call tree by frame name along the path (root first):
// what flame graphs draw. The first level is the process (comm).
import type { FrameKind } from '../symbolize/types.js';
import { cleanName, processName } from './names.js';
import type { StackProfile } from './types.js';

export type NodeKind = FrameKind | 'process' | 'root';

export interface FlameNode {
  name: string;
  kind: NodeKind;
  /** This frame and everything above it. */
  value: number;
  /** Stacks ending here. */
  self: number;
  /** The source file of the frame (DWARF, Python), for the tooltip; "inlined" when DWARF says so. */
  file?: string;
  inlined?: boolean;
  children: Map<string, FlameNode>;
}

function node(name: string, kind: NodeKind): FlameNode {
  return { name, kind, value: 0, self: 0, children: new Map() };
}

export function buildFlameTree(profile: StackProfile, options: { includePid?: boolean } = {}): FlameNode {
  const root = node('all', 'root');
  for (const sample of profile.samples) {
    if (!(sample.value > 0)) continue;
    root.value += sample.value;
    const comm = processName(sample, options.includePid ?? false);
    let at = root.children.get(comm);
    if (!at) root.children.set(comm, (at = node(comm, 'process')));
    at.value += sample.value;
    for (const frame of sample.frames) {
      const name = cleanName(frame.name);
      let next: FlameNode | undefined = at.children.get(name);
      if (!next) {
        at.children.set(name, (next = node(name, frame.kind)));
        if (frame.file) next.file = frame.file;
        if (frame.inlined) next.inlined = true;
      }
      next.value += sample.value;
      at = next;
    }
    at.self += sample.value;
  }
  return root;
}

/** Deepest level below the root (the root is depth 0). */
export function treeDepth(root: FlameNode): number {
  let max = 0;
  const stack: [FlameNode, number][] = [[root, 0]];
  while (stack.length) {
    const [n, d] = stack.pop() as [FlameNode, number];
    if (d > max) max = d;
    for (const c of n.children.values()) stack.push([c, d + 1]);
  }
  return max;
}
