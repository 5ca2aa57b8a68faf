// Reading the C records BPF programs write.

/** A NUL-terminated C string inside a fixed-size field (the whole buffer by default). */
export function cString(data: Buffer, offset = 0, max = data.length - offset): string {
  const end = data.indexOf(0, offset);
  return data.toString('utf8', offset, end < 0 || end > offset + max ? offset + max : end);
}
