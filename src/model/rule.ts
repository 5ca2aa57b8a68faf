// What a runbook rule is (the suspicious-activity runbook's patterns over
// execs, opens and connects): a value type the runbook schema embeds, run
// plans carry and analysis (src/analysis/rules.ts) evaluates.
import { z } from 'zod';

const patterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const PORT_LIST = /^\s*\d+(\s*,\s*\d+)*\s*$/;
const ports = z
  .union([
    z.number().int().min(1).max(65535),
    z.array(z.number().int().min(1).max(65535)).min(1),
    z.string().regex(PORT_LIST, 'ports are numbers 1-65535, as a list or "80,443"'),
  ])
  .transform((v, ctx) => {
    const list = typeof v === 'number' ? [v] : Array.isArray(v) ? v : v.split(',').map((p) => Number(p.trim()));
    const bad = list.find((p) => !(p >= 1 && p <= 65535));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `port ${bad} is not 1-65535` });
      return z.NEVER;
    }
    return list;
  });

const uids = z.union([z.number().int().min(0), z.array(z.number().int().min(0)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

const execFields = {
  /** The new program's name (comm after exec). */
  comm: patterns.optional(),
  /** The caller's name before exec: the parent program, for fork + exec. */
  parentComm: patterns.optional(),
  /** The executed file's path. */
  filename: patterns.optional(),
  /** The command line, arguments joined by spaces. */
  args: patterns.optional(),
  uid: uids.optional(),
  /** true: only failed execs; false: only successful ones. */
  failed: z.boolean().optional(),
};
const openFields = {
  path: patterns.optional(),
  comm: patterns.optional(),
  /** write: opened for writing (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC); read: not. */
  access: z.enum(['read', 'write', 'any']).optional(),
  failed: z.boolean().optional(),
};
const connectFields = {
  /** "ip:port" of the destination. */
  destination: patterns.optional(),
  /** The destination's address alone. */
  address: patterns.optional(),
  port: ports.optional(),
  comm: patterns.optional(),
};

const withNot = <T extends z.ZodRawShape>(fields: T) => {
  const base = z.object(fields).strict();
  return z
    .object({
      ...fields,
      not: z
        .union([base, z.array(base).min(1)])
        .transform((v) => (Array.isArray(v) ? v : [v]))
        .optional(),
    })
    .strict();
};

export const execMatchSchema = withNot(execFields);
export const openMatchSchema = withNot(openFields);
export const connectMatchSchema = withNot(connectFields);

export const ruleSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'rule names are lowercase letters, digits and "-"'),
    /** What a hit means, as the start of the finding's sentence: "A web server started a shell". */
    title: z.string().min(1).max(200),
    severity: z.enum(['critical', 'warning', 'info']).default('warning'),
    exec: execMatchSchema.optional(),
    open: openMatchSchema.optional(),
    connect: connectMatchSchema.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    const kinds = (['exec', 'open', 'connect'] as const).filter((k) => rule[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `a rule matches exactly one of exec, open or connect${kinds.length ? ` (this one has ${kinds.join(' and ')})` : ''}`,
      });
    }
  });

export type Rule = z.output<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
