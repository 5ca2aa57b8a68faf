// The one pass every capture result goes through before it leaves the
// collector (src/captures/run-capture.ts): every string in the data, any
// depth, and every array of strings read as argv.
import { createRedactor, type Redactor } from './redactor.js';
import type { SecretPattern } from './patterns.js';

/** The data with its secrets hidden (in place), and how many were; `redactor` reuses compiled patterns (one per spooled event). */
export function redactCaptureData<D>(
  data: D,
  extra: readonly SecretPattern[] = [],
  redactor: Redactor = createRedactor(extra),
): { data: D; redactions: number } {
  // Symbol names and paths repeat across stacks and rows: each distinct string once.
  const seen = new Map<string, string>();
  const text = (s: string) => {
    let out = seen.get(s);
    if (out === undefined) {
      out = redactor.text(s);
      if (seen.size < 200_000) seen.set(s, out);
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
