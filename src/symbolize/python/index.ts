export { findPythonRuntime, type PythonRuntime } from './runtime.js';
export { nameEvalLoopParts } from './eval-loop.js';
export { encodeWalk, pythonLayout, type PythonLayout } from './layouts.js';
export { PythonCodeReader, type PythonFrameInfo } from './code-objects.js';
export { interleavePython, pythonFrame, type PythonFrame } from './interleave.js';
export { lineOfInstruction } from './line-table.js';
