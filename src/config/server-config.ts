// Settings of `sherlock up | api | worker`, from flags over environment over
// defaults, validated once at start: each bad value gets its own line.
import { hostname } from 'node:os';
import { z } from 'zod';
import { NODE_NAME_RULE, isValidNodeName } from '../redis/keys.js';
import { parseRedisTarget } from '../redis/target.js';

const DAY_SECONDS = 86_400;
export const DEFAULT_STATE_DIR = '/var/lib/sherlock';

const defaultNodeName = () =>
  hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 63) || 'node';

export const serverConfigSchema = z.object({
  redisUrl: z
    .string()
    .superRefine((text, ctx) => {
      try {
        parseRedisTarget(text);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
  port: z.coerce.number().int().min(0).max(65535, 'port must be 0-65535').default(7070),
  host: z.string().min(1).default('127.0.0.1'),
  stateDir: z.string().min(1).default(DEFAULT_STATE_DIR),
  adminToken: z.string().min(16, 'SHERLOCK_ADMIN_TOKEN must be at least 16 characters').optional(),
  retentionDays: z.coerce.number().min(1).max(90, 'retention is 1-90 days').default(7),
  node: z
    .string()
    .refine(isValidNodeName, { message: `node names are ${NODE_NAME_RULE}` })
    .default(defaultNodeName),
  labels: z.record(z.string(), z.string()).default({}),
  /** The Sherlock config file (YAML: trigger secrets, aliases, hook rules); read by the API at start. */
  configFile: z.string().trim().min(1, 'the config file path is empty').optional(),
  /** Operator Falco rule files and directories (SHERLOCK_FALCO_RULES, colon-separated); read by the worker. */
  falcoRules: z.array(z.string().min(1)).default([]),
});

export type ServerConfig = z.infer<typeof serverConfigSchema> & { retentionSeconds: number };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Flags win over the environment. */
export function loadServerConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const input = {
    redisUrl: flags.redis ?? env.REDIS_URL,
    port: flags.port ?? env.SHERLOCK_PORT,
    host: flags.host ?? env.SHERLOCK_HOST,
    stateDir: flags['state-dir'] ?? env.SHERLOCK_STATE_DIR,
    adminToken: env.SHERLOCK_ADMIN_TOKEN || undefined,
    retentionDays: flags['retention-days'] ?? env.SHERLOCK_RETENTION_DAYS,
    node: flags.node ?? env.SHERLOCK_NODE,
    labels: parseLabels((flags.label as string[] | undefined) ?? env.SHERLOCK_LABELS?.split(',').filter(Boolean) ?? []),
    configFile: flags.config ?? (env.SHERLOCK_CONFIG || undefined),
    falcoRules: splitPaths((flags['falco-rules'] as string | undefined) ?? env.SHERLOCK_FALCO_RULES),
  };
  const parsed = serverConfigSchema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('\n'));
  }
  return { ...parsed.data, retentionSeconds: Math.round(parsed.data.retentionDays * DAY_SECONDS) };
}

const splitPaths = (text: string | undefined): string[] =>
  (text ?? '')
    .split(':')
    .map((p) => p.trim())
    .filter(Boolean);

function parseLabels(pairs: string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const [key, value] = pair.split('=');
    if (!key || value === undefined || pair.split('=').length !== 2) throw new ConfigError(`--label takes key=value, got "${pair}"`);
    labels[key] = value;
  }
  return labels;
}
