// Socket addresses as people write them: 1.2.3.4:80 and [2001:db8::1]:443.
// Kernel records carry the family and 16 address bytes (IPv4 in the first 4).
export const AF_INET = 2;
export const AF_INET6 = 10;

/** RFC 5952 text of 16 bytes: zero runs compressed, v4-mapped as ::ffff:a.b.c.d. */
export function ipv6Text(bytes: Buffer): string {
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${[...bytes.subarray(12, 16)].join('.')}`;
  }
  // The longest run of two or more zero groups (the first of equals) becomes "::".
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/** The address alone: dotted quad or RFC 5952 text; `?` for an unknown family. */
export function ipText(family: number, bytes: Buffer): string {
  if (family === AF_INET) return [...bytes.subarray(0, 4)].join('.');
  if (family === AF_INET6) return ipv6Text(bytes);
  return `?family${family}`;
}

/** address:port, IPv6 in brackets. */
export function endpointText(family: number, bytes: Buffer, port: number): string {
  const ip = ipText(family, bytes);
  return family === AF_INET6 ? `[${ip}]:${port}` : `${ip}:${port}`;
}
