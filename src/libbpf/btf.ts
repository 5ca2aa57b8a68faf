// Reads the layout of an object's .rodata section from its BTF, so settings can
// be written by variable name between open and load (what a libbpf skeleton
// generates in C, found here at run time instead).
import { koffi, lib, type Handle } from './native.js';

const BTF_KIND_INT = 1;
const BTF_KIND_ARRAY = 3;
const BTF_KIND_ENUM = 6;
const BTF_KIND_TYPEDEF = 8;
const BTF_KIND_VOLATILE = 9;
const BTF_KIND_CONST = 10;
const BTF_KIND_VAR = 14;
const BTF_KIND_DATASEC = 15;
const BTF_INT_SIGNED = 1;
const BTF_INT_BOOL = 4;
const BTF_TYPE_SIZE = 12; // struct btf_type: name_off, info, size|type
const BTF_SECINFO_SIZE = 12; // struct btf_var_secinfo: type, offset, size

/** What a rodata variable holds, enough to encode a JS value into it. */
export type VariableKind = 'int' | 'uint' | 'bool' | 'chars' | 'bytes';

export interface VariableSpec {
  name: string;
  offset: number;
  size: number;
  kind: VariableKind;
}

interface BtfType {
  ptr: unknown;
  nameOff: number;
  kind: number;
  vlen: number;
  sizeOrType: number;
}

const u32At = (ptr: unknown, offset: number): number => koffi.decode(ptr, offset, 'uint32_t') as number;

function readType(btf: Handle, id: number): BtfType {
  const ptr = lib().btf__type_by_id(btf, id);
  const info = u32At(ptr, 4);
  return { ptr, nameOff: u32At(ptr, 0), kind: (info >>> 24) & 0x1f, vlen: info & 0xffff, sizeOrType: u32At(ptr, 8) };
}

/** Follow const/volatile/typedef to the type that says what the bytes are. */
function resolve(btf: Handle, typeId: number): BtfType {
  let t = readType(btf, typeId);
  while (t.kind === BTF_KIND_CONST || t.kind === BTF_KIND_VOLATILE || t.kind === BTF_KIND_TYPEDEF) {
    t = readType(btf, t.sizeOrType);
  }
  return t;
}

function classify(btf: Handle, typeId: number): VariableKind {
  const t = resolve(btf, typeId);
  if (t.kind === BTF_KIND_INT) {
    const encoding = (u32At(t.ptr, BTF_TYPE_SIZE) >>> 24) & 0x0f;
    if (encoding & BTF_INT_BOOL) return 'bool';
    return encoding & BTF_INT_SIGNED ? 'int' : 'uint';
  }
  if (t.kind === BTF_KIND_ENUM) return 'int';
  if (t.kind === BTF_KIND_ARRAY) {
    // struct btf_array { type, index_type, nelems } follows: byte arrays take strings.
    const element = resolve(btf, u32At(t.ptr, BTF_TYPE_SIZE));
    return element.kind === BTF_KIND_INT && element.sizeOrType === 1 ? 'chars' : 'bytes';
  }
  return 'bytes';
}

/** The variables of one data section (".rodata", ".bss", ...), or [] if absent. */
export function sectionVariables(btf: Handle, section: string): VariableSpec[] {
  const native = lib();
  if (!btf) return [];
  const id = native.btf__find_by_name_kind(btf, section, BTF_KIND_DATASEC);
  if (id < 0) return [];
  const sec = readType(btf, id);
  const vars: VariableSpec[] = [];
  for (let i = 0; i < sec.vlen; i++) {
    const at = BTF_TYPE_SIZE + i * BTF_SECINFO_SIZE;
    const varType = readType(btf, u32At(sec.ptr, at));
    if (varType.kind !== BTF_KIND_VAR) continue;
    vars.push({
      name: native.btf__name_by_offset(btf, varType.nameOff),
      offset: u32At(sec.ptr, at + 4),
      size: u32At(sec.ptr, at + 8),
      kind: classify(btf, varType.sizeOrType),
    });
  }
  return vars;
}

const BTF_ENUM_SIZE = 8; // struct btf_enum: name_off, val
const BTF_KIND_ENUM64 = 19;
const BTF_ENUM64_SIZE = 12; // struct btf_enum64: name_off, val_lo32, val_hi32

/** The kernel's BTF (vmlinux): where CO-RE reads its types from. */
export const KERNEL_BTF_PATH = '/sys/kernel/btf/vmlinux';

/**
 * An enum's values by number, read from a BTF file (the kernel's by default),
 * e.g. enum skb_drop_reason → 2: "SKB_DROP_REASON_NOT_SPECIFIED". Undefined
 * when the file or the enum is missing: names then fall back to numbers.
 */
export function btfEnum(name: string, path = KERNEL_BTF_PATH): Map<number, string> | undefined {
  const native = lib();
  const btf = native.btf__parse(path, null) as Handle;
  if (!btf) return undefined;
  try {
    for (const kind of [BTF_KIND_ENUM, BTF_KIND_ENUM64]) {
      const id = native.btf__find_by_name_kind(btf, name, kind);
      if (id < 0) continue;
      const t = readType(btf, id);
      const values = new Map<number, string>();
      const size = kind === BTF_KIND_ENUM ? BTF_ENUM_SIZE : BTF_ENUM64_SIZE;
      for (let i = 0; i < t.vlen; i++) {
        const at = BTF_TYPE_SIZE + i * size;
        values.set(koffi.decode(t.ptr, at + 4, 'int32_t') as number, native.btf__name_by_offset(btf, u32At(t.ptr, at)));
      }
      return values;
    }
    return undefined;
  } finally {
    native.btf__free(btf);
  }
}
