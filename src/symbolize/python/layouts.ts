// Where CPython keeps what a profiler reads (x86-64). For 3.11 the numbers
// are offsetof() of the interpreter's own structs, printed by a C file
// compiled against that version's internal headers (Py_BUILD_CORE;
// python3.11-dev's /usr/include/python3.11/internal/): that interpreter has
// no debug information to read them from at run time, and these structs
// change only between minor versions. 3.13+ carries its own offsets in the
// process (debug-offsets.ts). A version without a layout is not walked (its
// samples keep the interpreter's native frames) and says so.

/** The kernel walk's offsets (struct python_process in bpf/common/python_frames.h). */
export interface PythonWalkLayout {
  /** undefined: no thread-state pointer in the runtime (3.12+): the thread list is searched. */
  tstateCurrent: number | undefined;
  interpretersHead: number;
  interpThreadsHead: number;
  tstateNext: number;
  tstateNativeThreadId: number;
  /** undefined: the current frame is a field of the thread state (3.13+). */
  tstateCframe: number | undefined;
  currentFrame: number;
  frameCode: number;
  framePrevious: number;
  frameInstr: number;
  /** undefined: no is_entry flag (3.12+ marks entries with a C-stack shim frame). */
  frameIsEntry: number | undefined;
  frameOwner: number;
}

/** What user space reads from a code object and the strings it points to. */
export interface PythonCodeLayout {
  firstLineNo: number;
  filename: number;
  name: number;
  qualname: number;
  lineTable: number;
  /** The bytecode starts here, inside the code object (instruction offsets count from it). */
  codeAdaptive: number;
  /** PyASCIIObject: length, state bits, and where compact ASCII / compact non-ASCII data start. */
  unicodeLength: number;
  unicodeState: number;
  asciiData: number;
  compactData: number;
  /** PyBytesObject: ob_size and ob_sval. */
  bytesSize: number;
  bytesData: number;
}

export interface PythonLayout {
  version: string;
  walk: PythonWalkLayout;
  code: PythonCodeLayout;
  /**
   * Frames whose owner is this or above are the eval loop's entry shims (3.12+:
   * FRAME_OWNED_BY_CSTACK, and FRAME_OWNED_BY_INTERPRETER in 3.14), not Python
   * functions: each marks where a C call entered the interpreter. undefined: is_entry does that.
   */
  shimOwner?: number;
}

const LAYOUTS: Record<string, PythonLayout> = {
  '3.11': {
    version: '3.11',
    walk: {
      tstateCurrent: 576,
      interpretersHead: 40,
      interpThreadsHead: 16,
      tstateNext: 8,
      tstateNativeThreadId: 160,
      tstateCframe: 56,
      currentFrame: 8,
      frameCode: 32,
      framePrevious: 48,
      frameInstr: 56,
      frameIsEntry: 68,
      frameOwner: 69,
    },
    code: {
      firstLineNo: 72,
      filename: 112,
      name: 120,
      qualname: 128,
      lineTable: 136,
      codeAdaptive: 184,
      unicodeLength: 16,
      unicodeState: 32,
      asciiData: 48,
      compactData: 72,
      bytesSize: 16,
      bytesData: 32,
    },
  },
};

/** The fixed layout of a CPython minor version ("3.11"), or undefined when it has none (3.13+ reads its own). */
export function pythonLayout(version: string): PythonLayout | undefined {
  return LAYOUTS[version];
}

const NO_FIELD = 0xffff;

/** struct python_process: the runtime's address and the walk's offsets. */
export function encodeWalk(runtime: bigint, walk: PythonWalkLayout): Buffer {
  const b = Buffer.alloc(40); // sizeof(struct python_process)
  b.writeBigUInt64LE(runtime, 0);
  const fields = [
    walk.tstateCurrent ?? NO_FIELD,
    walk.interpretersHead,
    walk.interpThreadsHead,
    walk.tstateNext,
    walk.tstateNativeThreadId,
    walk.tstateCframe ?? NO_FIELD,
    walk.currentFrame,
    walk.frameCode,
    walk.framePrevious,
    walk.frameInstr,
    walk.frameIsEntry ?? NO_FIELD,
    walk.frameOwner,
  ];
  fields.forEach((v, i) => b.writeUInt16LE(v, 8 + 2 * i));
  return b;
}
