// The msgpack bytes BullMQ's packer (msgpackr, useRecords false,
// encodeUndefinedAsNil) gives for a job's arguments and options, written
// directly: msgpackr's general encoder was ~5% of the API's CPU per
// submission. Only the values those hold: strings, booleans, null/undefined,
// non-negative integers, arrays and plain objects; anything else is refused.
// job-args.test.ts compares the bytes with BullMQ's own for run flows of several shapes.

let buf = Buffer.allocUnsafe(16 * 1024);
let at = 0;

function room(n: number): void {
  if (at + n <= buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, at + n));
  buf.copy(bigger, 0, 0, at);
  buf = bigger;
}

function str(s: string): void {
  const max = s.length * 3;
  room(5 + max);
  // msgpackr's choice of header by byte length: fixstr, str8, str16, str32.
  const n = Buffer.byteLength(s, 'utf8');
  if (n < 32) buf[at++] = 0xa0 | n;
  else if (n < 0x100) {
    buf[at++] = 0xd9;
    buf[at++] = n;
  } else if (n < 0x10000) {
    buf[at++] = 0xda;
    buf.writeUInt16BE(n, at);
    at += 2;
  } else {
    buf[at++] = 0xdb;
    buf.writeUInt32BE(n, at);
    at += 4;
  }
  at += buf.write(s, at, 'utf8');
}

function num(v: number): void {
  room(9);
  if (!Number.isInteger(v) || v < 0) throw new Error(`bullmq-pack: ${v} is not a non-negative integer`);
  if (v < 0x80) buf[at++] = v;
  else if (v < 0x100) {
    buf[at++] = 0xcc;
    buf[at++] = v;
  } else if (v < 0x10000) {
    buf[at++] = 0xcd;
    buf.writeUInt16BE(v, at);
    at += 2;
  } else if (v < 0x100000000) {
    buf[at++] = 0xce;
    buf.writeUInt32BE(v, at);
    at += 4;
  } else {
    // msgpackr writes integers beyond 32 bits (timestamps in ms) as float64.
    buf[at++] = 0xcb;
    buf.writeDoubleBE(v, at);
    at += 8;
  }
}

function value(v: unknown): void {
  if (typeof v === 'string') return str(v);
  if (typeof v === 'number') return num(v);
  room(5);
  if (v === null || v === undefined) buf[at++] = 0xc0;
  else if (v === true) buf[at++] = 0xc3;
  else if (v === false) buf[at++] = 0xc2;
  else if (Array.isArray(v)) {
    if (v.length < 16) buf[at++] = 0x90 | v.length;
    else if (v.length < 0x10000) {
      buf[at++] = 0xdc;
      buf.writeUInt16BE(v.length, at);
      at += 2;
    } else throw new Error('bullmq-pack: array too long');
    for (const item of v) value(item);
  } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    // msgpackr writes every plain object as map16, its count filled in after the entries.
    const header = at;
    buf[at++] = 0xde;
    at += 2;
    let count = 0;
    for (const key in v) {
      const item = (v as Record<string, unknown>)[key];
      str(key);
      value(item);
      count++;
    }
    buf.writeUInt16BE(count, header + 1);
  } else throw new Error(`bullmq-pack: cannot encode ${typeof v}`);
}

/** `v` as BullMQ's packer encodes it. */
export function pack(v: unknown): Buffer {
  at = 0;
  value(v);
  const packed = Buffer.allocUnsafe(at);
  buf.copy(packed, 0, 0, at);
  return packed;
}
