// The libbpf binding: parse, load, attach, read. See object.ts for the lifecycle.
export { BpfObject, closeAllObjects, type OpenOptions, type RodataValue } from './object.js';
export type { ObjectSpec, ProgramSpec } from './spec.js';
export { BpfMap, BPF_ANY, BPF_EXIST, BPF_NOEXIST, possibleCpuCount, type MapSpec } from './map.js';
export { RingBufferReader, takeFullestFill, type RecordHandler, type RingBufferReaderOptions } from './ringbuf.js';
export { type BpfLink, type AttachOptions } from './link.js';
export { hookChainMembers, setHookChaining } from './hook-chain.js';
export { PERF_COUNT_SW_CPU_CLOCK, PERF_TYPE_SOFTWARE, PERF_TYPE_HARDWARE, onlineCpus, type PerfEventSpec } from './perf-event.js';
export { enableRunTimeStats, programStats, type ProgramStats } from './stats.js';
export { tracingRoot, hasTracepoint, hasKprobes } from './tracefs.js';
export { BpfError, NotSupportedError, PermissionError, ObjectFileError, errnoName } from './errors.js';
export { btfEnum, KERNEL_BTF_PATH, type VariableSpec, type VariableKind } from './btf.js';
export { missingTracingCapabilities } from './privileges.js';
export { trimNativeHeap } from './native-heap.js';
