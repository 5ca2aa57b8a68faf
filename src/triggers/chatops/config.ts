// ChatOps settings from the environment, read per request so a restart is not
// needed in tests; bad JSON is ignored with the defaults (and logged once).
import { createLogger } from '../../util/logger.js';
import { DEFAULT_ALIASES } from './parse.js';

const log = createLogger({ component: 'chatops' });

export interface AllowRule {
  users?: string[];
  channels?: string[];
}

export interface ChatopsConfig {
  signingSecret?: string;
  mattermostToken?: string;
  aliases: Record<string, string>;
  allow?: Record<string, AllowRule>;
  publicUrl?: string;
}

const warned = new Set<string>();
function json(env: NodeJS.ProcessEnv, name: string): unknown {
  const text = env[name];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    if (!warned.has(name)) log.warn(`${name} is not valid JSON; ignored`);
    warned.add(name);
    return undefined;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : undefined);

export function chatopsConfig(env: NodeJS.ProcessEnv = process.env): ChatopsConfig {
  const aliases: Record<string, string> = { ...DEFAULT_ALIASES };
  const extra = json(env, 'SHERLOCK_CHATOPS_ALIASES');
  if (isObject(extra)) for (const [k, v] of Object.entries(extra)) if (typeof v === 'string') aliases[k.toLowerCase()] = v;
  const rawAllow = json(env, 'SHERLOCK_CHATOPS_ALLOW');
  let allow: Record<string, AllowRule> | undefined;
  if (isObject(rawAllow)) {
    allow = {};
    for (const [runbook, rule] of Object.entries(rawAllow)) {
      if (!isObject(rule)) continue;
      const users = strings(rule.users);
      const channels = strings(rule.channels);
      allow[runbook] = { ...(users ? { users } : {}), ...(channels ? { channels } : {}) };
    }
  }
  return {
    ...(env.SHERLOCK_SLACK_SIGNING_SECRET ? { signingSecret: env.SHERLOCK_SLACK_SIGNING_SECRET } : {}),
    ...(env.SHERLOCK_MATTERMOST_TOKEN ? { mattermostToken: env.SHERLOCK_MATTERMOST_TOKEN } : {}),
    aliases,
    ...(allow ? { allow } : {}),
    ...(env.SHERLOCK_PUBLIC_URL ? { publicUrl: env.SHERLOCK_PUBLIC_URL.replace(/\/+$/, '') } : {}),
  };
}

export interface Caller {
  userId: string;
  userName: string;
  channelId: string;
  channelName: string;
}

/** Whether `caller` may start `runbook`: no rule for it means everyone. */
export function allowed(config: ChatopsConfig, runbook: string, caller: Caller): boolean {
  const rule = config.allow?.[runbook];
  if (!rule) return true;
  const userOk = !rule.users || rule.users.includes(caller.userName) || rule.users.includes(caller.userId);
  const channelOk = !rule.channels || rule.channels.includes(caller.channelName) || rule.channels.includes(caller.channelId);
  return userOk && channelOk;
}
