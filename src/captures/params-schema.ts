// A capture's settings (settings.ts) as a zod schema, for the API (JSON schema),
// runbooks and the planner, which report zod's issues with their paths. The same
// rules as checkSettings; test/captures/params-schema.test.ts holds them together.
import { z } from 'zod';
import type { Setting, Settings } from './settings.js';

function settingSchema(s: Setting): z.ZodType {
  switch (s.kind) {
    case 'integer': {
      let schema = z.number().int().min(s.min).max(s.max);
      if (s.multipleOf) schema = schema.multipleOf(s.multipleOf);
      const checked = s.powerOfTwo ? schema.refine((n) => (n & (n - 1)) === 0, 'a power of two') : schema;
      return checked.default(s.default).describe(s.description);
    }
    case 'boolean':
      return z.boolean().default(s.default).describe(s.description);
    case 'choice':
      return z
        .enum(s.values as [string, ...string[]])
        .default(s.default)
        .describe(s.description);
    case 'pattern':
      return z.string().regex(s.pattern, s.rule).default(s.default).describe(s.description);
    case 'list':
      return z
        .union([z.string().transform((text) => text.split(',').filter((x) => x.trim())), z.array(z.union([z.string(), z.number()]))])
        .pipe(z.array(z.union([z.string(), z.number()])).min(1, s.emptyRule))
        .transform((list, ctx) => {
          const items: unknown[] = [];
          for (const x of list) {
            const item: unknown = s.item(x);
            if (item === undefined) ctx.addIssue({ code: 'custom', message: `${JSON.stringify(x)} ${s.rule}` });
            else items.push(item);
          }
          return items;
        })
        .default(s.default)
        .describe(s.description);
  }
}

const schemas = new WeakMap<Settings, z.ZodType>();

/** The capture's params as a strict zod object (made once per capture). */
export function paramsSchema<P = unknown>(setup: { settings: Settings; defaults: P }): z.ZodType<P> {
  let schema = schemas.get(setup.settings);
  if (!schema) {
    schema = z.strictObject(Object.fromEntries(Object.entries(setup.settings).map(([key, s]) => [key, settingSchema(s)])));
    schemas.set(setup.settings, schema);
  }
  return schema as z.ZodType<P>;
}
