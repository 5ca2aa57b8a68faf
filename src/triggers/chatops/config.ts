// ChatOps settings: the schema of their part of the config file (and of the
// JSON env vars), and who may run what. Built once at API start by
// src/config/triggers.ts; a receiver with no secret is disabled.
import { z } from 'zod';
import { own, ownRecord } from '../../util/own.js';
import { strictObject } from '../../config/zod-text.js';
import { parseDuration } from '../../util/duration.js';
import { DEFAULT_ALIASES } from './parse.js';

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

/** No secrets: the receiver answers 404. */
export const DISABLED_CHATOPS: ChatopsConfig = { aliases: { ...DEFAULT_ALIASES } };

/** Words the grammar reads itself; an alias named so would never be reached. */
export const COMMAND_WORDS = ['run', 'status', 'cancel', 'runbooks', 'help'];

/** A secret is text (quote numbers in YAML); blanks around it are dropped. */
export const secretSchema = z.string({ error: 'must be text (quote it in YAML)' }).trim().min(1, 'must not be empty').max(1000);

export const publicUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL (where people open reports)' })
  .transform((url) => url.replace(/\/+$/, ''));

const aliasName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'an alias is one word: letters, digits, "-" and "_"')
  .refine((word) => !COMMAND_WORDS.includes(word.toLowerCase()), { message: `an alias may not be a command word (${COMMAND_WORDS.join(', ')})` });

export const aliasesSchema = ownRecord(aliasName, z.string({ error: 'must be a runbook name' }).min(1).max(100));

const names = z.array(z.string().min(1).max(200)).max(1000);
export const allowSchema = ownRecord(z.string().min(1).max(100), strictObject({ users: names.optional(), channels: names.optional() }));

const MAX_LINK_TTL_MS = 30 * 24 * 3_600_000;

/** How long a signed report link opens: "24h", "90m" (1 minute to 30 days; days as hours, e.g. 168h). */
export const linkTtlSchema = z.string({ error: 'must be a duration like 24h or 90m' }).transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined || ms < 60_000 || ms > MAX_LINK_TTL_MS) {
    ctx.addIssue({ code: 'custom', message: `must be a duration from 1m to 720h (30 days), like 24h; got "${text}"` });
    return z.NEVER;
  }
  return ms;
});

/** The HMAC key of report links: long enough that it cannot be guessed. */
export const linkKeySchema = secretSchema.refine((key) => key.length >= 32, { message: 'must be at least 32 characters (e.g. openssl rand -hex 32)' });

/** on/off (also true/false) for the env var; a boolean in the file. */
export const switchSchema = z.union([
  z.boolean(),
  z.enum(['on', 'off', 'true', 'false'], { error: 'must be on or off' }).transform((text) => text === 'on' || text === 'true'),
]);

export const chatopsFileSchema = strictObject({
  signingSecret: secretSchema.optional(),
  mattermostToken: secretSchema.optional(),
  publicUrl: publicUrlSchema.optional(),
  aliases: aliasesSchema.optional(),
  allow: allowSchema.optional(),
  /** Signed, expiring report links in chat replies (src/core/report-links.ts). */
  reportLinks: strictObject({ key: linkKeySchema.optional(), ttl: linkTtlSchema.optional(), enabled: switchSchema.optional() }).optional(),
});

export interface Caller {
  userId: string;
  userName: string;
  channelId: string;
  channelName: string;
}

/** Whether `caller` may start `runbook`: no rule for it means everyone. */
export function allowed(config: ChatopsConfig, runbook: string, caller: Caller): boolean {
  const rule = own(config.allow, runbook);
  if (!rule) return true;
  const userOk = !rule.users || rule.users.includes(caller.userName) || rule.users.includes(caller.userId);
  const channelOk = !rule.channels || rule.channels.includes(caller.channelName) || rule.channels.includes(caller.channelId);
  return userOk && channelOk;
}
