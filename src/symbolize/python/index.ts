export { findPythonRuntime, type PythonRuntime } from './runtime.js';
export { encodeWalk, pythonLayout, type PythonLayout } from './layouts.js';
export { debugOffsetsLayout, debugOffsetsVersions } from './debug-offsets.js';
export { PythonCodeReader, type PythonFrameInfo } from './code-objects.js';
export { interleavePython, pythonFrame, type PythonFrame } from './interleave.js';
export { lineOfInstruction } from './line-table.js';
