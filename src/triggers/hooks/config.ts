// The hook mapping rules (SHERLOCK_HOOKS_CONFIG, YAML): which alert starts
// which runbook on which nodes. Validated once at start; a bad file disables
// the hooks (503 hooks_misconfigured) and the log names the path and field.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export const HOOK_TOOLS = ['alertmanager', 'pagerduty', 'generic'] as const;
export type HookTool = (typeof HOOK_TOOLS)[number];

/** "/regex/" (optionally "/regex/i") is a pattern; anything else an exact value. */
const REGEX_LITERAL = /^\/(.+)\/([imsu]*)$/s;

export type Matcher = { exact: string } | { regex: RegExp };

const matcher = z
  .union([z.string().max(1000), z.number(), z.boolean()])
  .transform((value, ctx): Matcher => {
    const text = String(value);
    const m = typeof value === 'string' ? REGEX_LITERAL.exec(text) : null;
    if (!m) return { exact: text };
    try {
      return { regex: new RegExp(m[1]!, m[2]) };
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `invalid regular expression ${text}: ${(err as Error).message}` });
      return z.NEVER;
    }
  });

const matchers = z.record(z.string().min(1).max(200), matcher);

const TEMPLATE_VAR = /\$\{([^}]*)\}/g;
const VAR_PATH = /^(labels|annotations|fields)\.[\w.-]+$/;

/** A string whose ${...} references are labels.X, annotations.X or fields.X. */
const template = z
  .string()
  .max(1000)
  .superRefine((text, ctx) => {
    for (const m of text.matchAll(TEMPLATE_VAR)) {
      if (!VAR_PATH.test(m[1]!.trim())) {
        ctx.addIssue({ code: 'custom', message: `\${${m[1]}} must name labels.<key>, annotations.<key> or fields.<key>` });
      }
    }
  });

const ruleSchema = z
  .object({
    name: z.string().min(1).max(100).optional(),
    match: z
      .object({
        tool: z.enum(HOOK_TOOLS).optional(),
        labels: matchers.optional(),
        annotations: matchers.optional(),
        fields: matchers.optional(),
      })
      .strict()
      .default({}),
    runbook: z.string().min(1).max(100),
    params: z.record(z.string().min(1).max(100), z.union([template, z.number(), z.boolean()])).default({}),
    nodes: z.union([z.literal('all'), template, z.array(template).min(1).max(100)]),
    duration: z.union([z.string().max(20), z.number().int()]).optional(),
  })
  .strict();

export const hooksConfigSchema = z.object({ rules: z.array(ruleSchema).max(1000).default([]) }).strict();

export type HookRule = z.infer<typeof ruleSchema>;
export type HooksConfig = z.infer<typeof hooksConfigSchema>;

export type ConfigResult = { ok: true; config: HooksConfig } | { ok: false; error: string };

/** Reads and validates the file; the error names the file and each bad field (rules.0.nodes). */
export function loadHooksConfig(path: string): ConfigResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `${path}: cannot read: ${(err as Error).message}` };
  }
  return parseHooksConfig(text, path);
}

export function parseHooksConfig(text: string, path = '<hooks config>'): ConfigResult {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    return { ok: false, error: `${path}: invalid YAML: ${(err as Error).message}` };
  }
  const parsed = hooksConfigSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    return { ok: false, error: `${path}: ${issues.join('; ')}` };
  }
  return { ok: true, config: parsed.data };
}
