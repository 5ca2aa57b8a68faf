// The one pass every capture result goes through before it leaves the
// collector (src/captures/run-capture.ts): every string in the data, any
// depth, and every array of strings read as argv.
import { createRedactor, type Redactor } from './redactor.js';
import type { SecretPattern } from './patterns.js';

/** Distinct strings remembered with their redacted text (per call, or across calls through `seen`). */
const MAX_SEEN = 200_000;

/**
 * The data with its secrets hidden (in place), and how many were. `redactor`
 * reuses compiled patterns and `seen` the strings already redacted, across
 * calls (a spool's events, one call each; it is cleared when full).
 */
export function redactCaptureData<D>(
  data: D,
  extra: readonly SecretPattern[] = [],
  redactor: Redactor = createRedactor(extra),
  seen = new Map<string, string>(),
): { data: D; redactions: number } {
  // Symbol names, paths and names repeat across stacks, rows and events: each distinct string once.
  const text = (s: string) => {
    let out = seen.get(s);
    if (out === undefined) {
      out = redactor.text(s);
      if (seen.size >= MAX_SEEN) seen.clear();
      seen.set(s, out);
    }
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return text(value);
    if (Array.isArray(value)) {
      if (value.length > 0 && value.every((v) => typeof v === 'string')) return redactor.argv(value, text);
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i]);
      return value;
    }
    if (value && typeof value === 'object' && !Buffer.isBuffer(value) && !ArrayBuffer.isView(value)) {
      for (const key of Object.keys(value)) (value as Record<string, unknown>)[key] = walk((value as Record<string, unknown>)[key]);
    }
    return value;
  };
  const before = redactor.count;
  const out = walk(data) as D;
  // Cached strings are counted once, when first seen: a count of distinct secrets' places, close enough for a manifest.
  return { data: out, redactions: redactor.count - before };
}
