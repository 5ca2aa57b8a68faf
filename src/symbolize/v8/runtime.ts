// Finds V8 in a process: the module (node's executable, or a libnode.so an
// embedding program loads) that exports V8's postmortem constants.
import { elfForMapping } from '../elf-cache.js';
import { isFileMapping, readMaps, type MapEntry } from '../process-maps.js';
import { v8Layout, type V8Layout } from './layout.js';

export type V8Runtime = { found: true; module: string; layout: V8Layout } | { found: false; module: string; problem: string };

/** Modules that may embed V8 with its constants: checked by their symbols, not only by name. */
const V8_MODULE = /(?:^|\/)(?:node(?:js)?(?:\d+)?|libnode\.so[.\d]*)$/;

/** undefined: not a V8 process (none of its modules exports the constants). */
export function findV8Runtime(pid: number): V8Runtime | undefined {
  let maps: MapEntry[];
  try {
    maps = readMaps(pid);
  } catch {
    return undefined;
  }
  const seen = new Set<string>();
  for (const m of maps) {
    if (!V8_MODULE.test(m.path) || !isFileMapping(m) || seen.has(m.path)) continue;
    seen.add(m.path);
    const { elf } = elfForMapping(pid, m);
    const layout = elf ? v8Layout(elf) : undefined;
    if (!layout) continue;
    return 'problem' in layout ? { found: false, module: m.path, problem: layout.problem } : { found: true, module: m.path, layout };
  }
  return undefined;
}
