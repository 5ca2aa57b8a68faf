// User-stack unwinding from snapshots by call-frame information (.eh_frame,
// .debug_frame) with frame pointers where there is none: for every stack
// capture (src/captures/stack-family).
export { unwindStack, type CodeLocation, type StackSnapshot, type UnwindEnd, type UnwoundStack } from './unwind-stack.js';
export { UnwindMemo } from './unwind-memo.js';
export { moduleCfi, unwindTableBytes, ModuleCfi } from './tables.js';
export { CfiTable } from './cfi-table.js';
