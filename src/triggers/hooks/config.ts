// The hook mapping rules (triggers.hooks in the Sherlock config file, or a
// file of their own named by SHERLOCK_HOOKS_CONFIG): which alert starts which
// runbook on which nodes. Checked once at start; a bad file refuses the start.
import { z } from 'zod';
import { readYamlFile, parseYamlText } from '../../config/config-file.js';
import { issueLines, strictObject } from '../../config/zod-text.js';

export const HOOK_TOOLS = ['alertmanager', 'pagerduty', 'generic'] as const;
export type HookTool = (typeof HOOK_TOOLS)[number];

/** "/regex/" (optionally "/regex/i") is a pattern; anything else an exact value. */
const REGEX_LITERAL = /^\/(.+)\/([imsu]*)$/s;

export type Matcher = { exact: string } | { regex: RegExp };

const matcher = z.union([z.string().max(1000), z.number(), z.boolean()]).transform((value, ctx): Matcher => {
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

const ruleSchema = strictObject({
  name: z.string().min(1).max(100).optional(),
  match: strictObject({
    tool: z.enum(HOOK_TOOLS).optional(),
    labels: matchers.optional(),
    annotations: matchers.optional(),
    fields: matchers.optional(),
  }).default({}),
  runbook: z.string().min(1).max(100),
  params: z.record(z.string().min(1).max(100), z.union([template, z.number(), z.boolean()])).default({}),
  /** Absent: the node is named by the alert's first label in nodeLabels (node-labels.ts). */
  nodes: z.union([z.literal('all'), template, z.array(template).min(1).max(100)]).optional(),
  /** Milliseconds, or text like "30s". */
  duration: z.union([z.string().max(20), z.number().int()]).optional(),
});

/** Labels that name an alert's node when a rule gives no `nodes`, tried in order. */
export const DEFAULT_NODE_LABELS = ['node', 'kubernetes_node', 'instance', 'hostname', 'host'];

export const hooksConfigSchema = strictObject({
  rules: z.array(ruleSchema).max(1000).default([]),
  nodeLabels: z
    .array(
      z
        .string()
        .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a label name')
        .max(100),
    )
    .min(1)
    .max(20)
    .default(DEFAULT_NODE_LABELS),
});

export type HookRule = z.infer<typeof ruleSchema>;
export type HooksConfig = z.infer<typeof hooksConfigSchema>;

export type ConfigResult = { ok: true; config: HooksConfig } | { ok: false; problems: string[] };

/** Reads and validates a rules file; each problem names the file and the field (rules.0.nodes). */
export function loadHooksConfig(path: string): ConfigResult {
  const file = readYamlFile(path);
  return file.ok ? checkHooksConfig(file.doc, path) : { ok: false, problems: [file.problem] };
}

export function parseHooksConfig(text: string, where = '<hooks config>'): ConfigResult {
  const yaml = parseYamlText(text, where);
  return yaml.ok ? checkHooksConfig(yaml.doc, where) : { ok: false, problems: [yaml.problem] };
}

function checkHooksConfig(doc: unknown, where: string): ConfigResult {
  const parsed = hooksConfigSchema.safeParse(doc);
  return parsed.success ? { ok: true, config: parsed.data } : { ok: false, problems: issueLines(where, parsed.error) };
}
