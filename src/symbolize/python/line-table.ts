// The line of an instruction from a code object's co_linetable, in the
// location-table format of CPython 3.11+ (PEP 657; Objects/locations.md in
// CPython): entries of one first byte (top bit set, a 4-bit code and the
// entry's length in code units) and then the code's varints.

function reader(table: Buffer) {
  let at = 0;
  const varint = (): number => {
    let byte = table[at++] ?? 0;
    let value = byte & 63;
    let shift = 0;
    while (byte & 64 && at < table.length && shift < 30) {
      byte = table[at++] ?? 0;
      shift += 6;
      value |= (byte & 63) << shift;
    }
    return value >>> 0;
  };
  const svarint = (): number => {
    const v = varint();
    return v & 1 ? -(v >>> 1) : v >>> 1;
  };
  return {
    get at() {
      return at;
    },
    byte: () => table[at++] ?? 0,
    skip: (n: number) => void (at += n),
    varint,
    svarint,
  };
}

/**
 * The line of the instruction at `unit` (code units from the start of the
 * bytecode), or undefined when the table gives it no line.
 */
export function lineOfInstruction(table: Buffer, firstLine: number, unit: number): number | undefined {
  if (unit < 0) return firstLine; // a frame that has not run an instruction yet
  const r = reader(table);
  let line = firstLine;
  let addr = 0;
  while (r.at < table.length) {
    const first = r.byte();
    if (!(first & 0x80)) return undefined; // not an entry start: a table we do not understand
    const code = (first >> 3) & 15;
    const length = (first & 7) + 1;
    let has = true;
    if (code === 15) has = false;
    else if (code === 14) {
      line += r.svarint();
      r.varint(); // end line delta
      r.varint(); // column
      r.varint(); // end column
    } else if (code === 13) line += r.svarint();
    else if (code >= 10) {
      line += code - 10;
      r.skip(2); // columns
    } else r.skip(1); // column
    if (unit < addr + length) return has ? line : undefined;
    addr += length;
  }
  return undefined;
}
