// Finds V8 in a process: the module (node's executable, or a libnode.so an
// embedding program loads) that exports V8's postmortem constants.
import { mappedModules } from '../elf-symbols.js';
import { v8Layout, type V8Layout } from './layout.js';

export type V8Runtime = { found: true; module: string; layout: V8Layout } | { found: false; module: string; problem: string };

/** Modules that may embed V8 with its constants: checked by their symbols, not only by name. */
const V8_MODULE = /(?:^|\/)(?:node(?:js)?(?:\d+)?|libnode\.so[.\d]*)$/;

/** undefined: not a V8 process (none of its modules exports the constants). */
export function findV8Runtime(pid: number): V8Runtime | undefined {
  for (const { mapping, elf } of mappedModules(pid, V8_MODULE)) {
    const layout = elf ? v8Layout(elf) : undefined;
    if (!layout) continue;
    return 'problem' in layout ? { found: false, module: mapping.path, problem: layout.problem } : { found: true, module: mapping.path, layout };
  }
  return undefined;
}
