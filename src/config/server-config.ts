// Settings of `sherlock up | api | worker`, from flags over environment over
// defaults, checked once at start: each bad value gets its own line.
import { hostname } from 'node:os';
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

export interface ServerConfig {
  redisUrl?: string;
  port: number;
  host: string;
  stateDir: string;
  adminToken?: string;
  retentionDays: number;
  retentionSeconds: number;
  node: string;
  labels: Record<string, string>;
  /** The Sherlock config file (YAML: trigger secrets, aliases, hook rules); read by the API at start. */
  configFile?: string;
  /** Operator Falco rule files and directories (SHERLOCK_FALCO_RULES, colon-separated); read by the worker. */
  falcoRules: string[];
  /** Captures whose objects the worker keeps loaded between runs: all, none, or names (SHERLOCK_WARM). */
  warm: string;
}

/** Every setting of ServerConfig a flag or the environment gives (retentionSeconds is derived). */
export const SERVER_SETTINGS = [
  'redisUrl',
  'port',
  'host',
  'stateDir',
  'adminToken',
  'retentionDays',
  'node',
  'labels',
  'configFile',
  'falcoRules',
  'warm',
] as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// Checked by hand, not with zod: every server process (an idle worker too) reads these, and zod is
// ~3 MiB of an idle worker's memory. Each problem says what was given and what is allowed.
type Problems = string[];

function text(problems: Problems, name: string, value: unknown, fallback: string, what: string): string {
  if (value === undefined) return fallback;
  const given = String(value);
  if (!given) problems.push(`${name}: ${what} is empty`);
  return given;
}

function number(problems: Problems, name: string, value: unknown, fallback: number, min: number, max: number, rule: string, integer: boolean): number {
  if (value === undefined) return fallback;
  const given = Number(value);
  if (String(value).trim() === '' || !Number.isFinite(given) || (integer && !Number.isInteger(given)) || given < min || given > max) {
    problems.push(`${name}: ${rule}, got "${String(value)}"`);
  }
  return given;
}

function check(input: Record<string, unknown>): Omit<ServerConfig, 'retentionSeconds'> {
  const problems: Problems = [];
  const config: Omit<ServerConfig, 'retentionSeconds'> = {
    port: number(problems, 'port', input.port, 7070, 0, 65535, 'port must be 0-65535', true),
    host: text(problems, 'host', input.host, '127.0.0.1', 'the host'),
    stateDir: text(problems, 'stateDir', input.stateDir, DEFAULT_STATE_DIR, 'the state directory'),
    retentionDays: number(problems, 'retentionDays', input.retentionDays, 7, 1, 90, 'retention is 1-90 days', false),
    node: input.node === undefined ? defaultNodeName() : String(input.node),
    labels: (input.labels as Record<string, string> | undefined) ?? {},
    falcoRules: (input.falcoRules as string[] | undefined) ?? [],
    warm: input.warm === undefined ? 'all' : String(input.warm).trim(),
  };
  if (input.redisUrl !== undefined) {
    config.redisUrl = String(input.redisUrl);
    try {
      parseRedisTarget(config.redisUrl);
    } catch (err) {
      problems.push(`redisUrl: ${(err as Error).message}`);
    }
  }
  if (!isValidNodeName(config.node)) problems.push(`node: node names are ${NODE_NAME_RULE}, got "${config.node}"`);
  if (input.adminToken !== undefined) {
    config.adminToken = String(input.adminToken);
    if (config.adminToken.length < 16) problems.push('adminToken: SHERLOCK_ADMIN_TOKEN must be at least 16 characters');
  }
  if (input.configFile !== undefined) {
    config.configFile = String(input.configFile).trim();
    if (!config.configFile) problems.push('configFile: the config file path is empty');
  }
  if (problems.length) throw new ConfigError(problems.join('\n'));
  return config;
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
    warm: flags.warm ?? (env.SHERLOCK_WARM || undefined),
  };
  const config = check(input);
  return { ...config, retentionSeconds: Math.round(config.retentionDays * DAY_SECONDS) };
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
