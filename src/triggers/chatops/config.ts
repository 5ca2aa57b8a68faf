// ChatOps settings: the schema of their part of the config file (and of the
// JSON env vars), and who may run what. Built once at API start by
// src/config/triggers.ts; a receiver with no secret is disabled.
import { z } from 'zod';
import { own, ownRecord } from '../../util/own.js';
import { strictObject } from '../../config/zod-text.js';
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

export const chatopsFileSchema = strictObject({
  signingSecret: secretSchema.optional(),
  mattermostToken: secretSchema.optional(),
  publicUrl: publicUrlSchema.optional(),
  aliases: aliasesSchema.optional(),
  allow: allowSchema.optional(),
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
