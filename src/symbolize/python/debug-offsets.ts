// CPython 3.13+ describes its own layout: _PyRuntime starts with
// _Py_DebugOffsets (cookie "xdebugpy", the version, then offsetof() of the
// fields an out-of-process debugger reads), so the walk's offsets are read
// from the process and hold for any build options. The struct itself changes
// between minor versions: where each offset sits in it is listed per version
// below, in the header's order (every member a uint64 after the 8-byte
// cookie): 3.13 from internal/pycore_runtime.h (Debian trixie's
// libpython3.13-dev), 3.14 from internal/pycore_debug_offsets.h (forky's
// libpython3.14-dev). Only the sections up to unicode_object are listed.
import type { PythonLayout } from './layouts.js';
import { ProcessMemory } from '../process-memory.js';

type Sections = [section: string, fields: string[]][];

const COMMON_HEAD: Sections = [
  ['', ['version', 'free_threaded']],
  ['runtime_state', ['size', 'finalizing', 'interpreters_head']],
];
const TAIL: Sections = [
  ['pyobject', ['size', 'ob_type']],
  ['type_object', ['size', 'tp_name', 'tp_repr', 'tp_flags']],
  ['tuple_object', ['size', 'ob_item', 'ob_size']],
  ['list_object', ['size', 'ob_item', 'ob_size']],
];
const TAIL_END: Sections = [
  ['dict_object', ['size', 'ma_keys', 'ma_values']],
  ['float_object', ['size', 'ob_fval']],
  ['long_object', ['size', 'lv_tag', 'ob_digit']],
  ['bytes_object', ['size', 'ob_size', 'ob_sval']],
  ['unicode_object', ['size', 'state', 'length', 'asciiobject_size']],
];
const THREAD_STATE: Sections = [
  ['thread_state', ['size', 'prev', 'next', 'interp', 'current_frame', 'thread_id', 'native_thread_id', 'datastack_chunk', 'status']],
];
const GIL = ['ceval_gil', 'gil_runtime_state', 'gil_runtime_state_enabled', 'gil_runtime_state_locked', 'gil_runtime_state_holder'];
const CODE = ['size', 'filename', 'name', 'qualname', 'linetable', 'firstlineno', 'argcount', 'localsplusnames', 'localspluskinds', 'co_code_adaptive'];

/** Per minor version: the struct's members in order, and the lowest owner of an entry shim (pycore_frame.h). */
const FORMATS: Record<string, { sections: Sections; shimOwner: number }> = {
  '3.13': {
    sections: [
      ...COMMON_HEAD,
      ['interpreter_state', ['size', 'id', 'next', 'threads_head', 'gc', 'imports_modules', 'sysdict', 'builtins', ...GIL]],
      ...THREAD_STATE,
      ['interpreter_frame', ['size', 'previous', 'executable', 'instr_ptr', 'localsplus', 'owner']],
      ['code_object', CODE],
      ...TAIL,
      ...TAIL_END,
    ],
    shimOwner: 3, // FRAME_OWNED_BY_CSTACK
  },
  '3.14': {
    sections: [
      ...COMMON_HEAD,
      [
        'interpreter_state',
        [
          'size',
          'id',
          'next',
          'threads_head',
          'threads_main',
          'gc',
          'imports_modules',
          'sysdict',
          'builtins',
          ...GIL,
          'code_object_generation',
          'tlbc_generation',
        ],
      ],
      ...THREAD_STATE,
      ['interpreter_frame', ['size', 'previous', 'executable', 'instr_ptr', 'localsplus', 'owner', 'stackpointer', 'tlbc_index']],
      ['code_object', [...CODE, 'co_tlbc']],
      ...TAIL,
      ['set_object', ['size', 'used', 'table', 'mask']],
      ...TAIL_END,
    ],
    shimOwner: 3, // FRAME_OWNED_BY_INTERPRETER (3), FRAME_OWNED_BY_CSTACK (4)
  },
};

const COOKIE = 'xdebugpy';
/** Bytes of a frame the kernel reads at once (PYTHON_FRAME_READ, bpf/common/python_frames.h). */
const FRAME_READ = 96;
/** PyCompactUnicodeObject after PyASCIIObject: utf8_length and utf8 (3.12+). */
const COMPACT_EXTRA = 16;

export const debugOffsetsVersions = (): string[] => Object.keys(FORMATS);

/** Byte position of each "section.field" in the version's _Py_DebugOffsets. */
export function debugOffsetPositions(version: string): Map<string, number> | undefined {
  const format = FORMATS[version];
  if (!format) return undefined;
  const at = new Map<string, number>();
  let pos = COOKIE.length;
  for (const [section, fields] of format.sections)
    for (const f of fields) {
      at.set(section ? `${section}.${f}` : f, pos);
      pos += 8;
    }
  return at;
}

/** The named offsets as the process holds them, or why they cannot be used. */
export function readDebugOffsets(pid: number, runtime: bigint, version: string): { offsets: Map<string, number> } | { problem: string } {
  const positions = debugOffsetPositions(version);
  if (!positions) return { problem: `CPython ${version}: no frame layout known (Python frames need ${['3.11', ...debugOffsetsVersions()].join(', ')})` };
  const memory = new ProcessMemory(pid);
  const size = Math.max(...positions.values()) + 8;
  const raw = memory.read(runtime, size);
  memory.close();
  if (!raw) return { problem: `CPython ${version}: _PyRuntime's debug offsets cannot be read` };
  if (raw.toString('latin1', 0, COOKIE.length) !== COOKIE)
    return { problem: `CPython ${version}: _PyRuntime does not start with the "${COOKIE}" debug offsets` };
  const offsets = new Map<string, number>();
  for (const [name, pos] of positions) {
    const v = raw.readBigUInt64LE(pos);
    offsets.set(name, v > 0xffff_ffffn ? -1 : Number(v)); // -1: implausible, caught below
  }
  const hex = offsets.get('version')!;
  const read = `${hex >>> 24}.${(hex >>> 16) & 0xff}`;
  if (read !== version) return { problem: `CPython ${version}: its debug offsets say version ${read}` };
  if (offsets.get('free_threaded')) return { problem: `CPython ${version}: free-threaded builds are not walked` };
  return { offsets };
}

/** The walk's and the code reader's layout from the process's own debug offsets (3.13+). */
export function debugOffsetsLayout(pid: number, runtime: bigint, version: string): { layout: PythonLayout } | { problem: string } {
  const read = readDebugOffsets(pid, runtime, version);
  if (!('offsets' in read)) return read;
  const o = (name: string) => read.offsets.get(name)!;
  // Each field used lies inside its struct (sizeof from the same table) and fits the kernel's u16 offsets.
  const used: [string, number][] = [
    ['runtime_state.interpreters_head', 8],
    ['interpreter_state.threads_head', 8],
    ['thread_state.next', 8],
    ['thread_state.native_thread_id', 8],
    ['thread_state.current_frame', 8],
    ['interpreter_frame.executable', 8],
    ['interpreter_frame.previous', 8],
    ['interpreter_frame.instr_ptr', 8],
    ['interpreter_frame.owner', 1],
    ['code_object.filename', 8],
    ['code_object.name', 8],
    ['code_object.qualname', 8],
    ['code_object.linetable', 8],
    ['code_object.firstlineno', 4],
    ['code_object.co_code_adaptive', 2],
    ['unicode_object.state', 4],
    ['unicode_object.length', 8],
    ['bytes_object.ob_size', 8],
    ['bytes_object.ob_sval', 1],
  ];
  for (const [name, width] of used) {
    const size = o(`${name.split('.')[0]}.size`);
    if (o(name) < 0 || size <= 0 || size > 1 << 24 || o(name) + width > size || o(name) > 0xfffe)
      return { problem: `CPython ${version}: implausible debug offset ${name} = ${o(name)} (struct size ${size})` };
  }
  const ascii = o('unicode_object.asciiobject_size');
  if (ascii < 24 || ascii > 256 || o('unicode_object.length') >= ascii || o('unicode_object.state') >= ascii)
    return { problem: `CPython ${version}: implausible unicode layout (PyASCIIObject of ${ascii} bytes)` };
  const frameFields = ['executable', 'previous', 'instr_ptr'].map((f) => o(`interpreter_frame.${f}`) + 8);
  if (Math.max(...frameFields, o('interpreter_frame.owner') + 1) > FRAME_READ)
    return { problem: `CPython ${version}: frame fields beyond the ${FRAME_READ} bytes the kernel reads of a frame` };
  return {
    layout: {
      version,
      walk: {
        tstateCurrent: undefined,
        interpretersHead: o('runtime_state.interpreters_head'),
        interpThreadsHead: o('interpreter_state.threads_head'),
        tstateNext: o('thread_state.next'),
        tstateNativeThreadId: o('thread_state.native_thread_id'),
        tstateCframe: undefined,
        currentFrame: o('thread_state.current_frame'),
        frameCode: o('interpreter_frame.executable'),
        framePrevious: o('interpreter_frame.previous'),
        frameInstr: o('interpreter_frame.instr_ptr'),
        frameIsEntry: undefined,
        frameOwner: o('interpreter_frame.owner'),
      },
      code: {
        firstLineNo: o('code_object.firstlineno'),
        filename: o('code_object.filename'),
        name: o('code_object.name'),
        qualname: o('code_object.qualname'),
        lineTable: o('code_object.linetable'),
        codeAdaptive: o('code_object.co_code_adaptive'),
        unicodeLength: o('unicode_object.length'),
        unicodeState: o('unicode_object.state'),
        asciiData: ascii,
        compactData: ascii + COMPACT_EXTRA,
        bytesSize: o('bytes_object.ob_size'),
        bytesData: o('bytes_object.ob_sval'),
      },
      shimOwner: FORMATS[version]!.shimOwner,
    },
  };
}
