// Reading stored stack samples (profile, offcputime): frames as data, leaf
// last; stored JSON is untrusted, so odd fields read as empty.
import { isObj, objs, str, type Obj } from './common.js';

export interface FrameLike {
  name: string;
  kind: string;
  module?: string;
}

export const frameOf = (f: Obj): FrameLike => ({ name: str(f.name) || '?', kind: str(f.kind), ...(str(f.module) ? { module: str(f.module) } : {}) });

export function framesOf(stack: Obj): FrameLike[] {
  return objs(stack.frames).map(frameOf);
}

/** The leaf frame alone (profiles are large: the other frames are read only for evidence). */
export function leafOf(stack: Obj): FrameLike | undefined {
  const frames = Array.isArray(stack.frames) ? stack.frames : [];
  for (let i = frames.length - 1; i >= 0; i--) if (isObj(frames[i])) return frameOf(frames[i] as Obj);
  return undefined;
}

export const functionLabel = (f: FrameLike) =>
  f.module && f.kind !== 'kernel' ? `${f.name} (${f.module})` : f.kind === 'kernel' ? `${f.name} [kernel]` : f.name;

/** Leaf-first frame names, shortened, for evidence. */
export const stackText = (frames: FrameLike[], max = 12) => [...frames].reverse().slice(0, max).map(functionLabel);
