// Struct layouts as a built BPF object's BTF records them (bpftool, installed by
// scripts/install-deps.sh), and how a decoder's RecordLayout differs from them.
// The objects are stripped with `llvm-strip -g`, which keeps .BTF.
import { execFileSync } from 'node:child_process';
import type { RecordLayout } from '../../src/captures/records.js';

interface BtfMember {
  name: string;
  type_id: number;
  bits_offset: number;
}

interface BtfType {
  id: number;
  kind: string;
  name: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  members?: BtfMember[];
}

export class ObjectBtf {
  private readonly byId = new Map<number, BtfType>();
  private readonly structs = new Map<string, BtfType>();

  constructor(readonly path: string) {
    const dump = JSON.parse(execFileSync('bpftool', ['-j', 'btf', 'dump', 'file', path], { encoding: 'utf8', maxBuffer: 256 << 20 })) as { types: BtfType[] };
    for (const t of dump.types) {
      this.byId.set(t.id, t);
      if (t.kind === 'STRUCT' && !this.structs.has(t.name)) this.structs.set(t.name, t);
    }
  }

  struct(name: string): BtfType | undefined {
    return this.structs.get(name);
  }

  /** Through typedefs and qualifiers to the type that says what the bytes are. */
  resolve(id: number): BtfType | undefined {
    let t = this.byId.get(id);
    while (t && ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind)) t = this.byId.get(t.type_id!);
    return t;
  }

  /** A member's byte offset and type, "hdr.ts_ns" through nested structs; a string says why not. */
  member(struct: BtfType, path: string): { offset: number; type: BtfType | undefined } | string {
    let offset = 0;
    let current: BtfType | undefined = struct;
    let type: BtfType | undefined;
    for (const name of path.split('.')) {
      const m = current?.members?.find((x) => x.name === name);
      if (!m) return `struct ${struct.name} has no member ${path}`;
      if (m.bits_offset % 8) return `${struct.name}.${path} is a bitfield`;
      offset += m.bits_offset / 8;
      type = this.resolve(m.type_id);
      current = type;
    }
    return { offset, type };
  }
}

const isPadding = (name: string) => /^_*pad\w*$/.test(name) || name === '';

/** Every way `layout` differs from the struct of the same name in `btf`; [] when it matches. */
export function layoutMismatches(btf: ObjectBtf, layout: RecordLayout): string[] {
  const struct = btf.struct(layout.struct);
  if (!struct) return [`struct ${layout.struct} is not in the BTF of ${btf.path} (a ring buffer record? anchor it with SHERLOCK_RECORD)`];
  const out: string[] = [];
  if (struct.size !== layout.size) out.push(`sizeof(struct ${layout.struct}) is ${struct.size}, the decoder says ${layout.size}`);
  for (const [path, offset] of Object.entries(layout.offsets)) {
    const m = btf.member(struct, path);
    if (typeof m === 'string') out.push(m);
    else if (m.offset !== offset) out.push(`${layout.struct}.${path} is at ${m.offset}, the decoder reads it at ${offset}`);
  }
  for (const [path, length] of Object.entries(layout.lengths)) {
    const m = btf.member(struct, path);
    if (typeof m === 'string') out.push(m);
    else if (m.type?.kind !== 'ARRAY') out.push(`${layout.struct}.${path} is not an array`);
    else if (m.type.nr_elems !== length) out.push(`${layout.struct}.${path} has ${m.type.nr_elems} elements, the decoder says ${length}`);
  }
  // Every field's offset: a member the decoder does not list is one it may read wrong, or not know of.
  for (const m of struct.members ?? []) {
    if (!isPadding(m.name) && !(m.name in layout.offsets))
      out.push(`${layout.struct}.${m.name} (at ${m.bits_offset / 8}) is missing from the decoder's layout`);
  }
  return out;
}
