// A cursor over DWARF bytes (little-endian, 64-bit targets): LEB128 numbers
// and the pointer encodings of .eh_frame (DW_EH_PE_*). Addresses are plain
// numbers: user-space addresses on x86-64 stay below 2^47.

export const DW_EH_PE_omit = 0xff;
const DW_EH_PE_pcrel = 0x10;
const DW_EH_PE_datarel = 0x30;
const DW_EH_PE_indirect = 0x80;

export class DwarfReader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    /** Virtual address of buf[0] (for pc-relative pointers). */
    readonly baseAddress = 0,
  ) {}

  u8(): number {
    return this.buf[this.pos++]!;
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    const v = Number(this.buf.readBigUInt64LE(this.pos));
    this.pos += 8;
    return v;
  }
  i64(): number {
    const v = Number(this.buf.readBigInt64LE(this.pos));
    this.pos += 8;
    return v;
  }
  uleb(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new RangeError('LEB128 past the end');
      result += (b & 0x7f) * mul;
      mul *= 128;
      if (!(b & 0x80)) return result;
    }
  }
  sleb(): number {
    let result = 0;
    let mul = 1;
    let b: number;
    do {
      const next = this.buf[this.pos++];
      if (next === undefined) throw new RangeError('LEB128 past the end');
      b = next;
      result += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return b & 0x40 ? result - mul : result;
  }
  cString(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new RangeError('unterminated string');
    const s = this.buf.toString('latin1', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  /** A pointer in DW_EH_PE encoding `enc`; `dataBase` for datarel (the .eh_frame_hdr start). */
  encoded(enc: number, dataBase = 0): number {
    if (enc === DW_EH_PE_omit) return 0;
    const fieldAddress = this.baseAddress + this.pos;
    let v: number;
    switch (enc & 0x0f) {
      case 0x00:
        v = this.u64();
        break; // absptr
      case 0x01:
        v = this.uleb();
        break;
      case 0x02:
        v = this.u16();
        break;
      case 0x03:
        v = this.u32();
        break;
      case 0x04:
        v = this.u64();
        break;
      case 0x09:
        v = this.sleb();
        break;
      case 0x0a:
        v = this.buf.readInt16LE(this.pos);
        this.pos += 2;
        break;
      case 0x0b:
        v = this.i32();
        break;
      case 0x0c:
        v = this.i64();
        break;
      default:
        throw new Error(`unsupported pointer encoding 0x${enc.toString(16)}`);
    }
    switch (enc & 0x70) {
      case 0:
        break;
      case DW_EH_PE_pcrel:
        v += fieldAddress;
        break;
      case DW_EH_PE_datarel:
        v += dataBase;
        break;
      default:
        throw new Error(`unsupported pointer application 0x${(enc & 0x70).toString(16)}`);
    }
    if (enc & DW_EH_PE_indirect) throw new Error('indirect pointers are not supported');
    return v;
  }
}
