// The setting paths a zod schema accepts ("triggers.slack.publicUrl"), walked
// through its objects (optional, default and other wrappers seen through), so
// a test can hold a documented example against the schema it documents.
// Records are leaves (their keys are the operator's own); arrays too, unless
// `intoArrays`: then an array of objects adds its items' keys under its path.
import type { z } from 'zod';

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
  left?: z.ZodType;
  right?: z.ZodType;
  element?: z.ZodType;
}

const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Through optional/default/... (innerType) and pipes: a preprocess's schema is its `out`, a transform's its `in`. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if (def.innerType) current = def.innerType;
    else if (def.type === 'pipe') current = defOf(def.in!).type === 'transform' ? def.out! : def.in!;
    else break;
  }
  return current;
}

export function settingPaths(schema: z.ZodType, prefix = '', options: { intoArrays?: boolean } = {}): string[] {
  const def = defOf(unwrap(schema));
  if (def.type === 'array' && options.intoArrays) {
    const items = settingPaths(def.element!, prefix, options);
    return [...new Set([prefix, ...items])];
  }
  const objects =
    def.type === 'object' ? [def] : def.type === 'union' ? (def.options ?? []).map((o) => defOf(unwrap(o))).filter((d) => d.type === 'object') : [];
  if (def.type === 'intersection') return [...new Set([...settingPaths(def.left!, prefix, options), ...settingPaths(def.right!, prefix, options)])];
  if (!objects.length) return prefix ? [prefix] : [];
  const paths = new Set<string>();
  for (const object of objects) {
    for (const [key, value] of Object.entries(object.shape ?? {})) {
      for (const path of settingPaths(value, prefix ? `${prefix}.${key}` : key, options)) paths.add(path);
    }
  }
  return [...paths];
}
