// Finds the CPython runtime in a process: the module (the python3.X
// executable, or a libpython3.X.so an embedding program loads) that exports
// _PyRuntime, its address in the process, and the version (Py_Version, 3.11+,
// or the module's name) whose layout the walk needs (3.13+: read from the
// debug offsets at the start of _PyRuntime).
import type { ElfFile } from '../elf.js';
import { dynamicSymbols, loadBias, mappedModules } from '../elf-symbols.js';
import { debugOffsetsLayout } from './debug-offsets.js';
import { pythonLayout, type PythonLayout } from './layouts.js';
import { ProcessMemory } from '../process-memory.js';

const PYTHON_MODULE = /(?:^|\/)(?:lib)?python(\d+)\.(\d+)[a-z]*(?:\.so[.\d]*)?$/;

export type PythonRuntime =
  | { found: true; version: string; module: string; runtime: bigint; layout: PythonLayout; evalLoop?: EvalLoopEntry }
  | { found: false; version?: string; module?: string; problem: string; evalLoop?: EvalLoopEntry };

/** The interpreter's file and _PyEval_EvalFrameDefault's address in it (for eval-loop.ts). */
export interface EvalLoopEntry {
  elf: ElfFile;
  entry: number;
}

/** undefined: not a Python process. */
export function findPythonRuntime(pid: number): PythonRuntime | undefined {
  for (const { mapping: m, match: named, elf, mappings } of mappedModules(pid, PYTHON_MODULE)) {
    if (!elf) return { found: false, module: m.path, problem: `${m.path}: cannot be read` };
    const symbols = dynamicSymbols(elf, ['_PyRuntime', 'Py_Version', '_PyEval_EvalFrameDefault']);
    const runtimeVaddr = symbols.get('_PyRuntime');
    if (runtimeVaddr === undefined) continue; // a python-named module that is not the interpreter
    const entry = symbols.get('_PyEval_EvalFrameDefault');
    const evalLoop = entry !== undefined ? { evalLoop: { elf, entry } } : {};
    const bias = loadBias(elf, mappings);
    if (bias === undefined) return { found: false, module: m.path, problem: `${m.path}: load address unknown`, ...evalLoop };
    const version = versionOf(pid, symbols.get('Py_Version'), bias) ?? `${named[1]}.${named[2]}`;
    const runtime = BigInt(runtimeVaddr + bias);
    const fixed = pythonLayout(version);
    const read = fixed ? { layout: fixed } : debugOffsetsLayout(pid, runtime, version);
    if (!('layout' in read)) return { found: false, version, module: m.path, problem: read.problem, ...evalLoop };
    return { found: true, version, module: m.path, runtime, layout: read.layout, ...evalLoop };
  }
  return undefined;
}

/** "3.11" from the interpreter's Py_Version (PY_VERSION_HEX), read from its memory. */
function versionOf(pid: number, vaddr: number | undefined, bias: number): string | undefined {
  if (vaddr === undefined) return undefined;
  const memory = new ProcessMemory(pid);
  try {
    const hex = memory.read(BigInt(vaddr + bias), 4)?.readUInt32LE(0);
    return hex === undefined ? undefined : `${hex >>> 24}.${(hex >>> 16) & 0xff}`;
  } finally {
    memory.close();
  }
}
