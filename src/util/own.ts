// Lookups keyed by outside input (labels, params, aliases, node names): only a
// record's own keys count, so `__proto__`, `constructor` or `toString` are
// ordinary strings that match nothing unless they were defined.
import { z } from 'zod';

/** record[key] if it is the record's own property, else undefined. */
export function own<V>(record: Readonly<Record<string, V>> | undefined, key: string): V | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

/** A record with no prototype: `__proto__` stays a key like any other. */
export function nullProtoRecord<V>(entries: Iterable<readonly [string, V]>): Record<string, V> {
  const record = Object.create(null) as Record<string, V>;
  for (const [key, value] of entries) record[key] = value;
  return record;
}

/**
 * z.record that keeps every own key of its input, `__proto__` included (zod's
 * own record drops it, so `{labels: {"__proto__": "x"}}` became `{}`, which
 * matched every node), and returns a null-prototype record.
 */
export function ownRecord<K extends z.ZodType<string>, V extends z.ZodType>(key: K, value: V) {
  return z.unknown().transform((input, ctx) => {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.addIssue({ code: 'custom', message: 'Invalid input: expected record' });
      return z.NEVER;
    }
    const out: [string, z.output<V>][] = [];
    for (const name of Object.keys(input)) {
      const k = key.safeParse(name);
      if (!k.success) {
        for (const issue of k.error.issues) ctx.addIssue({ code: 'custom', path: [name], message: issue.message });
        continue;
      }
      const v = value.safeParse((input as Record<string, unknown>)[name]);
      if (!v.success) {
        for (const issue of v.error.issues) ctx.addIssue({ code: 'custom', path: [name, ...issue.path], message: issue.message });
        continue;
      }
      out.push([name, v.data as z.output<V>]);
    }
    return nullProtoRecord(out);
  });
}
