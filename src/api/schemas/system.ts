// What the trigger receivers and the system routes answer.
import { z } from 'zod';
import { named } from './common.js';

export const ChatReply = named(
  'ChatReply',
  'a Slack/Mattermost message (response_type and text)',
  z.object({ response_type: z.enum(['ephemeral', 'in_channel']), text: z.string(), replace_original: z.boolean().optional() }),
);

export const HookOutcome = named(
  'HookOutcome',
  "each alert's outcome: a run started, a duplicate delivery of one, no rule matched, resolved, or why it failed",
  z.object({
    started: z.number().int(),
    matched: z.boolean(),
    runId: z.string().optional().describe('set when exactly one run started'),
    results: z.array(
      z.object({
        alert: z.string(),
        status: z.enum(['resolved', 'unmatched', 'started', 'duplicate', 'failed']),
        matched: z.boolean(),
        rule: z.string().optional(),
        runId: z.string().optional(),
        error: z.object({ status: z.number().int(), code: z.string(), message: z.string() }).optional(),
      }),
    ),
  }),
);

export const Health = named('Health', 'the API is up and Redis answers', z.object({ status: z.literal('ok'), redis: z.literal('reachable') }));

/** The fields Sherlock reads from a slash command's form body (Slack and Mattermost send more). */
export const SlashCommandForm = z.looseObject({
  command: z.string().optional().describe('e.g. /sherlock'),
  text: z.string().optional().describe('the command line after the slash command, e.g. "run high-cpu on web-1"'),
  user_id: z.string().optional(),
  user_name: z.string().optional(),
  channel_id: z.string().optional(),
  channel_name: z.string().optional(),
  response_url: z.string().optional().describe('where progress and the result are posted'),
  token: z.string().optional().describe('Mattermost only: the outgoing token'),
});
