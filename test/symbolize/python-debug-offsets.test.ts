// CPython 3.13+'s _Py_DebugOffsets, read from a running interpreter (Debian's
// builds, fetched by scripts/fetch-test-pythons.sh), against the version's
// own headers: where each offset sits in the struct, and that the layout the
// walk gets from them is offsetof() of the interpreter's structs as the C
// compiler lays them out from those headers.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { debugOffsetPositions, readDebugOffsets } from '../../src/symbolize/python/debug-offsets.js';
import { findPythonRuntime } from '../../src/symbolize/python/index.js';
import { killLeftovers, start } from '../captures/sched-children.js';
import { cValues } from '../helpers/c-layout.js';
import { fetched } from '../helpers/pythons.js';

/** Values of C expressions (`name expression` each), compiled against the version's internal headers. */
function fromHeaders(include: string, version: string, exprs: Record<string, string>): Record<string, number> {
  const preamble = ['#define Py_BUILD_CORE 1', '#include <Python.h>', '#include <internal/pycore_runtime.h>', '#include <internal/pycore_frame.h>'];
  return cValues({ preamble, includeDirs: [include, join(include, `python${version}`)] }, exprs);
}

async function runtimeOf(pid: number) {
  // The loader maps the interpreter just after the exec: look until it is there.
  for (let i = 0; i < 100; i++) {
    const found = findPythonRuntime(pid);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

describe.each([fetched('3.13'), fetched('3.14')])('_Py_DebugOffsets of CPython $version', ({ version, python, include, skip }) => {
  if (skip) {
    it.skip(`skipped: ${skip}`, () => {});
    return;
  }
  afterEach(() => killLeftovers());

  it('sit where the header puts them, and give the walk the offsets the compiler gives', async () => {
    const child = start(python, ['-c', 'import time; time.sleep(10)']);
    const found = await runtimeOf(child.pid);
    expect(found).toMatchObject({ found: true, version });
    if (!found?.found) return;

    // Every listed member's place in _Py_DebugOffsets.
    const positions = debugOffsetPositions(version)!;
    const names = [...positions.keys()];
    const header = fromHeaders(include!, version, {
      ...Object.fromEntries(names.map((n) => [`pos.${n}`, `offsetof(_Py_DebugOffsets, ${n})`])),
      'runtime.interpreters_head': 'offsetof(_PyRuntimeState, interpreters.head)',
      'interp.threads_head': 'offsetof(PyInterpreterState, threads.head)',
      'tstate.next': 'offsetof(PyThreadState, next)',
      'tstate.native_thread_id': 'offsetof(PyThreadState, native_thread_id)',
      'tstate.current_frame': 'offsetof(PyThreadState, current_frame)',
      'frame.executable': 'offsetof(_PyInterpreterFrame, f_executable)',
      'frame.previous': 'offsetof(_PyInterpreterFrame, previous)',
      'frame.instr_ptr': 'offsetof(_PyInterpreterFrame, instr_ptr)',
      'frame.owner': 'offsetof(_PyInterpreterFrame, owner)',
      'code.firstlineno': 'offsetof(PyCodeObject, co_firstlineno)',
      'code.filename': 'offsetof(PyCodeObject, co_filename)',
      'code.name': 'offsetof(PyCodeObject, co_name)',
      'code.qualname': 'offsetof(PyCodeObject, co_qualname)',
      'code.linetable': 'offsetof(PyCodeObject, co_linetable)',
      'code.co_code_adaptive': 'offsetof(PyCodeObject, co_code_adaptive)',
      'unicode.length': 'offsetof(PyASCIIObject, length)',
      'unicode.state': 'offsetof(PyASCIIObject, state)',
      'unicode.ascii_data': 'sizeof(PyASCIIObject)',
      'unicode.compact_data': 'sizeof(PyCompactUnicodeObject)',
      'bytes.ob_size': 'offsetof(PyBytesObject, ob_base.ob_size)',
      'bytes.ob_sval': 'offsetof(PyBytesObject, ob_sval)',
      'owner.shim': version === '3.13' ? 'FRAME_OWNED_BY_CSTACK' : 'FRAME_OWNED_BY_INTERPRETER',
    });
    expect(Object.fromEntries(names.map((n) => [n, positions.get(n)]))).toEqual(Object.fromEntries(names.map((n) => [n, header[`pos.${n}`]])));

    // The process's own values are the header's (Debian builds with the default options).
    const { walk, code, shimOwner } = found.layout;
    expect(walk).toEqual({
      tstateCurrent: undefined,
      interpretersHead: header['runtime.interpreters_head'],
      interpThreadsHead: header['interp.threads_head'],
      tstateNext: header['tstate.next'],
      tstateNativeThreadId: header['tstate.native_thread_id'],
      tstateCframe: undefined,
      currentFrame: header['tstate.current_frame'],
      frameCode: header['frame.executable'],
      framePrevious: header['frame.previous'],
      frameInstr: header['frame.instr_ptr'],
      frameIsEntry: undefined,
      frameOwner: header['frame.owner'],
    });
    expect(code).toEqual({
      firstLineNo: header['code.firstlineno'],
      filename: header['code.filename'],
      name: header['code.name'],
      qualname: header['code.qualname'],
      lineTable: header['code.linetable'],
      codeAdaptive: header['code.co_code_adaptive'],
      unicodeLength: header['unicode.length'],
      unicodeState: header['unicode.state'],
      asciiData: header['unicode.ascii_data'],
      compactData: header['unicode.compact_data'],
      bytesSize: header['bytes.ob_size'],
      bytesData: header['bytes.ob_sval'],
    });
    expect(shimOwner).toBe(header['owner.shim']);

    // What is not the struct is refused: another version's reading of it, or the wrong address.
    const other = version === '3.13' ? '3.14' : '3.13';
    expect(readDebugOffsets(child.pid, found.runtime, other)).toEqual({ problem: `CPython ${other}: its debug offsets say version ${version}` });
    expect(readDebugOffsets(child.pid, found.runtime + 8n, version)).toMatchObject({ problem: expect.stringContaining('xdebugpy') });
  });
});
