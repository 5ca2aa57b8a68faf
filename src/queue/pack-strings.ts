// A list of strings (and raw byte strings) as one msgpack array, for a Lua
// script to read with cmsgpack.unpack. Every item goes as str32 (any length,
// any bytes: Redis 7.0's cmsgpack has no bin types), written in one pass into
// a reused scratch buffer and copied out at its exact size (a fresh buffer of
// the worst-case size per call cost more than the packing): cheaper than
// ioredis encoding each item as an argument of its own.

let scratch = Buffer.allocUnsafe(64 * 1024);

/** The msgpack array [items...], each item a str32 of its UTF-8 (or raw) bytes. */
export function packStrings(items: readonly (string | Buffer)[]): Buffer {
  let bound = 5;
  for (const item of items) bound += 5 + (typeof item === 'string' ? item.length * 3 : item.length);
  if (bound > scratch.length) scratch = Buffer.allocUnsafe(Math.max(bound, scratch.length * 2));
  const out = scratch;
  out[0] = 0xdd; // array32
  out.writeUInt32BE(items.length, 1);
  let at = 5;
  for (const item of items) {
    out[at] = 0xdb; // str32
    const n = typeof item === 'string' ? out.write(item, at + 5, 'utf8') : item.copy(out, at + 5);
    out.writeUInt32BE(n, at + 1);
    at += 5 + n;
  }
  const packed = Buffer.allocUnsafe(at);
  out.copy(packed, 0, 0, at);
  return packed;
}
