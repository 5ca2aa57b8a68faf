// Reading the C records BPF programs write.

/**
 * A C struct that crosses from BPF to TypeScript (a map's key or value, a ring
 * buffer record), as its decoder reads it. The decoder reads at these numbers
 * and test/architecture/record-layouts.test.ts checks them against the built
 * object's BTF, so the two cannot drift apart.
 */
export interface RecordLayout<M extends string = string, A extends string = string> {
  /** The struct's name in C and in the object's BTF (struct <name>). */
  struct: string;
  /** sizeof(struct <name>). */
  size: number;
  /** Byte offset of every member but padding, by C name; a nested struct's member as "hdr.ts_ns". */
  offsets: Readonly<Record<M, number>>;
  /** Element counts of the array members the decoder bounds its reads by (char comm[16]). */
  lengths: Readonly<Record<A, number>>;
}

export function recordLayout<const M extends string, const A extends M = never>(
  struct: string,
  size: number,
  offsets: Record<M, number>,
  lengths: Record<A, number> = {} as Record<A, number>,
): RecordLayout<M, A> {
  return { struct, size, offsets, lengths };
}

/** A NUL-terminated C string inside a fixed-size field (the whole buffer by default). */
export function cString(data: Buffer, offset = 0, max = data.length - offset): string {
  const end = data.indexOf(0, offset);
  return data.toString('utf8', offset, end < 0 || end > offset + max ? offset + max : end);
}
