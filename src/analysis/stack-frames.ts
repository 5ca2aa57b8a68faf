// Reading stored stack samples (profile, offcputime): frames as data, leaf
// last; stored JSON is untrusted, so odd fields read as empty.
import { isObj, objs, str, type Obj } from './common.js';
import { shortFunction } from '../format/index.js';

export interface FrameLike {
  name: string;
  kind: string;
  module?: string;
}

export const frameOf = (f: Obj): FrameLike => ({ name: str(f.name) || '?', kind: str(f.kind), ...(str(f.module) ? { module: str(f.module) } : {}) });

export function framesOf(stack: Obj): FrameLike[] {
  return objs(stack.frames).map(frameOf);
}

/** The process's own name in stored data, where its threads are named otherwise (a JVM's "pool-1-thread-7" is "java"). */
export const processNameOf = (data: Obj, pid: number): string | undefined =>
  isObj(data.processNames) && typeof data.processNames[String(pid)] === 'string' ? (data.processNames[String(pid)] as string) : undefined;

/** The leaf frame alone (profiles are large: the other frames are read only for evidence). */
export function leafOf(stack: Obj): FrameLike | undefined {
  const frames = Array.isArray(stack.frames) ? stack.frames : [];
  for (let i = frames.length - 1; i >= 0; i--) if (isObj(frames[i])) return frameOf(frames[i] as Obj);
  return undefined;
}

/** A frame for a sentence: its function's short name, and where it lives. */
export const functionLabel = (f: FrameLike) => frameLabel(f, shortFunction(f.name));

const frameLabel = (f: FrameLike, name: string) =>
  f.module && f.kind !== 'kernel' ? `${name} (${f.module})` : f.kind === 'kernel' ? `${name} [kernel]` : name;

/** Leaf-first frame names (whole), the first `max`, for evidence. */
export const stackText = (frames: FrameLike[], max = 12) =>
  [...frames]
    .reverse()
    .slice(0, max)
    .map((f) => frameLabel(f, f.name));
