// Entry names inside a report bundle. Every name is built from segments that
// came from elsewhere (run id, node names, capture and file names), so each
// segment is sanitized on its own and joined under the bundle's one top
// directory: whatever a segment holds ("..", "/abs", NUL, newlines, a
// Windows drive), no entry can name a path outside that directory.
//
// Valid node names (src/redis/keys.ts) pass through unchanged, so the paths
// findings name ("nodes/web-1/tcpconnlat.json") match the bundle's.

/** Characters kept as they are; everything else becomes "_". */
const SAFE = /[^A-Za-z0-9._+@=,~-]/g;
/** At most this many bytes per segment (ASCII after sanitizing). */
export const MAX_SEGMENT = 100;

/**
 * One path segment, safe on every platform tar extracts on: only
 * [A-Za-z0-9._+@=,~-] (anything else, '/', '\\', ':', control and non-ASCII
 * characters included, becomes '_'), never "", "." or "..", at most 100 bytes.
 */
export function safeSegment(name: string): string {
  let s = String(name).replace(SAFE, '_');
  if (s.length > MAX_SEGMENT) s = s.slice(0, MAX_SEGMENT);
  if (/^\.*$/.test(s)) s = s.replace(/\./g, '_') || '_';
  return s;
}

/** Segments joined with '/', each sanitized: a relative path with no way up. */
export function safePath(...segments: string[]): string {
  return segments.map(safeSegment).join('/');
}

/**
 * Hands out distinct sanitized segments for distinct inputs: two hostile node
 * names that sanitize alike ("a/b" and "a_b") get "a_b" and "a_b~2". The same
 * input always gets the same answer.
 */
export class SegmentAllocator {
  private readonly byInput = new Map<string, string>();
  private readonly used = new Set<string>();

  get(name: string): string {
    const known = this.byInput.get(name);
    if (known !== undefined) return known;
    const base = safeSegment(name);
    let candidate = base;
    for (let i = 2; this.used.has(candidate); i++) {
      const suffix = `~${i}`;
      candidate = base.slice(0, MAX_SEGMENT - suffix.length) + suffix;
    }
    this.used.add(candidate);
    this.byInput.set(name, candidate);
    return candidate;
  }
}

/** True when `entry` stays inside `root` once extracted: relative, no "..", no empty or "." segments, no control characters. */
export function staysInside(entry: string, root: string): boolean {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(entry)) return false;
  if (!entry.startsWith(`${root}/`) && entry !== root) return false;
  return entry.split('/').every((s, i, all) => (s !== '' || i === all.length - 1) && s !== '.' && s !== '..');
}
