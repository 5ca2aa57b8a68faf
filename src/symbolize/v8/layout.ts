// Where V8 keeps a JavaScript function's name and script, as the binary that
// embeds it says: Node exports its postmortem constants (v8dbg_*: frame
// offsets, object field offsets, instance types, string tags) for debuggers
// such as llnode, so no offset is hard-coded here and each V8 version reads
// its own. A module without them (or with compressed pointers) is not read.
import type { ElfFile } from '../elf.js';
import { dynamicSymbols } from '../elf-symbols.js';

export interface V8Layout {
  /** Frame slots, from the frame pointer: the JSFunction of a JavaScript frame, and its context (a Smi marker in other frames). */
  fpFunction: number;
  fpContext: number;
  smiShift: number;
  heapObjectTag: number;
  heapObjectTagMask: number;
  mapOffset: number;
  mapInstanceType: number;
  functionShared: number;
  sharedNameOrScopeInfo: number;
  sharedScriptOrDebugInfo: number;
  scriptName: number;
  scriptSource: number;
  scopeInfoLocalCount: number;
  scopeInfoFirstLocal: number;
  types: { sharedFunctionInfo: number; scopeInfo: number; script: number };
  strings: {
    firstNonString: number;
    encodingMask: number;
    oneByte: number;
    representationMask: number;
    seq: number;
    cons: number;
    thin: number;
    length: number;
    chars: number;
    consFirst: number;
    consSecond: number;
    thinActual: number;
  };
}

const CONSTANTS = {
  fpFunction: 'off_fp_function',
  fpContext: 'off_fp_context',
  taggedSize: 'TaggedSize',
  smiShiftSize: 'SmiShiftSize',
  heapObjectTag: 'HeapObjectTag',
  heapObjectTagMask: 'HeapObjectTagMask',
  mapOffset: 'class_HeapObject__map__Map',
  mapInstanceType: 'class_Map__instance_type__uint16_t',
  functionShared: 'class_JSFunction__shared__SharedFunctionInfo',
  sharedNameOrScopeInfo: 'class_SharedFunctionInfo__name_or_scope_info__Object',
  sharedScriptOrDebugInfo: 'class_SharedFunctionInfo__script_or_debug_info__HeapObject',
  scriptName: 'class_Script__name__Object',
  scriptSource: 'class_Script__source__Object',
  scopeInfoLocalCount: 'scopeinfo_idx_ncontextlocals',
  scopeInfoFirstLocal: 'scopeinfo_idx_first_vars',
  sharedFunctionInfoType: 'type_SharedFunctionInfo__SHARED_FUNCTION_INFO_TYPE',
  scopeInfoType: 'type_ScopeInfo__SCOPE_INFO_TYPE',
  scriptType: 'type_Script__SCRIPT_TYPE',
  firstNonString: 'FirstNonstringType',
  encodingMask: 'StringEncodingMask',
  oneByte: 'OneByteStringTag',
  representationMask: 'StringRepresentationMask',
  seq: 'SeqStringTag',
  cons: 'ConsStringTag',
  thin: 'ThinStringTag',
  length: 'class_String__length__int32_t',
  chars: 'class_SeqOneByteString__chars__char',
  consFirst: 'class_ConsString__first__String',
  consSecond: 'class_ConsString__second__String',
  thinActual: 'class_ThinString__actual__String',
} as const;

/** The layout, or why this module's V8 cannot be read (undefined: not V8). */
export function v8Layout(elf: ElfFile): V8Layout | { problem: string } | undefined {
  const names = Object.values(CONSTANTS).map((n) => `v8dbg_${n}`);
  const symbols = dynamicSymbols(elf, names);
  if (!symbols.has('v8dbg_off_fp_function')) return undefined;
  const value = {} as Record<keyof typeof CONSTANTS, number>;
  for (const [key, name] of Object.entries(CONSTANTS) as [keyof typeof CONSTANTS, string][]) {
    const vaddr = symbols.get(`v8dbg_${name}`);
    if (vaddr === undefined) return { problem: `${elf.label}: V8's v8dbg_${name} is not exported` };
    // A constant in .bss (zero-initialised) has no bytes in the file: it is 0.
    value[key] = elf.bytesAt(vaddr, 4)?.readInt32LE(0) ?? 0;
  }
  if (value.fpFunction >= 0) return { problem: `${elf.label}: v8dbg_off_fp_function cannot be read` };
  if (value.taggedSize !== 8) return { problem: `${elf.label}: V8 with compressed pointers (tagged size ${value.taggedSize}) is not read` };
  const v = value;
  return {
    fpFunction: v.fpFunction,
    fpContext: v.fpContext,
    smiShift: v.smiShiftSize + 1,
    heapObjectTag: v.heapObjectTag,
    heapObjectTagMask: v.heapObjectTagMask,
    mapOffset: v.mapOffset,
    mapInstanceType: v.mapInstanceType,
    functionShared: v.functionShared,
    sharedNameOrScopeInfo: v.sharedNameOrScopeInfo,
    sharedScriptOrDebugInfo: v.sharedScriptOrDebugInfo,
    scriptName: v.scriptName,
    scriptSource: v.scriptSource,
    scopeInfoLocalCount: v.scopeInfoLocalCount,
    scopeInfoFirstLocal: v.scopeInfoFirstLocal,
    types: { sharedFunctionInfo: v.sharedFunctionInfoType, scopeInfo: v.scopeInfoType, script: v.scriptType },
    strings: {
      firstNonString: v.firstNonString,
      encodingMask: v.encodingMask,
      oneByte: v.oneByte,
      representationMask: v.representationMask,
      seq: v.seq,
      cons: v.cons,
      thin: v.thin,
      length: v.length,
      chars: v.chars,
      consFirst: v.consFirst,
      consSecond: v.consSecond,
      thinActual: v.thinActual,
    },
  };
}
