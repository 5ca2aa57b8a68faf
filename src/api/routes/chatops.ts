// POST /v1/chatops/slack: Slack (and Mattermost) slash commands. The
// signature is the auth: checked on the raw body before it is parsed; a
// receiver with no secret configured is disabled (404). Replies are 200 with a
// chat message, also for a command that does not parse or is not allowed.
import { Hono, type Context } from 'hono';
import type { RedisClient } from '../../redis/connection.js';
import { NotFound, Unauthenticated } from '../../core/errors.js';
import { addShared } from '../../redis/shared-metrics.js';
import { answerFromMemory, type ChatDeps, type ChatRequest } from '../../triggers/chatops/answer.js';
import { DISABLED_CHATOPS, type Caller, type ChatopsConfig } from '../../triggers/chatops/config.js';
import { ChatFollowers } from '../../triggers/chatops/followers.js';
import { reportLinker } from '../../triggers/chatops/follow.js';
import type { ReportLinkSettings } from '../../core/report-links.js';
import { parseCommand } from '../../triggers/chatops/parse.js';
import { replyWithinBudget } from '../../triggers/chatops/reply.js';
import { SeenSignatures } from '../../triggers/chatops/seen-signatures.js';
import { constantTimeEqual, verifySlack } from '../../triggers/chatops/verify.js';
import { readBodyWithin, type BodyLimits } from '../read-body.js';

export interface ChatopsRoutesOptions extends ChatDeps {
  /** Where replays are remembered across replicas. */
  redis: RedisClient;
  /** Slack/Mattermost settings (absent, or no secret: the receiver answers 404). */
  chatops?: ChatopsConfig;
  /** Chat follow-ups running in the background; the API's shutdown stops them (absent: kept here). */
  chatFollowers?: ChatFollowers;
  /** Size and time limits of a signed body (absent: DEFAULT_BODY_LIMITS). */
  bodyLimits?: BodyLimits;
  /** Signed report links (absent: replies link the bearer-only report routes). */
  reportLinks?: ReportLinkSettings | undefined;
}

export function chatopsRoutes({ redis, chatops, chatFollowers, bodyLimits, reportLinks, ...deps }: ChatopsRoutesOptions) {
  const app = new Hono();
  // Replays to this process are refused from memory, so a slow Redis cannot delay the 401.
  const seen = new SeenSignatures();
  const followers = chatFollowers ?? new ChatFollowers();

  // Not awaited: Slack wants its ack within 3 s, and a slow Redis must not hold it.
  const count = (outcome: string) => void addShared(redis, [{ name: 'sherlock_chat_commands_total', labels: { outcome } }]);

  app.post('/slack', async (c) => {
    try {
      return await handle(c);
    } catch (err) {
      if (err instanceof Unauthenticated) count('rejected');
      throw err;
    }
  });

  const handle = async (c: Context) => {
    const config = chatops ?? DISABLED_CHATOPS; // read and checked once at start (src/config/triggers.ts)
    if (!config.signingSecret && !config.mattermostToken) {
      throw new NotFound(
        'not_found',
        'the Slack/Mattermost receiver is disabled: set SHERLOCK_SLACK_SIGNING_SECRET or SHERLOCK_MATTERMOST_TOKEN (or triggers.slack.signingSecret / mattermostToken in the config file)',
      );
    }
    const raw = (await readBodyWithin(c, bodyLimits)).toString('utf8');
    const signature = c.req.header('x-slack-signature');
    if (signature !== undefined || !config.mattermostToken) {
      if (!config.signingSecret) throw new Unauthenticated('unauthorized', 'Slack signatures are not accepted here (no signing secret is configured)');
      const check = verifySlack(config.signingSecret, raw, signature, c.req.header('x-slack-request-timestamp'));
      if (!check.ok) throw new Unauthenticated('unauthorized', check.reason);
      if (!seen.firstTime(signature!)) throw new Unauthenticated('unauthorized', 'this request was already received (replay)');
    }
    const form = new URLSearchParams(raw);
    if (signature === undefined && config.mattermostToken) {
      if (!constantTimeEqual(form.get('token') ?? '', config.mattermostToken)) throw new Unauthenticated('unauthorized', 'the token does not match');
    }
    const caller: Caller = {
      userId: form.get('user_id') ?? '',
      userName: form.get('user_name') ?? '',
      channelId: form.get('channel_id') ?? '',
      channelName: form.get('channel_name') ?? '',
    };
    const text = (form.get('text') ?? '').slice(0, 2000);
    const command = (form.get('command') ?? '/sherlock').slice(0, 50);
    const parsed = parseCommand(text, deps.runbooks?.names() ?? [], config.aliases);
    const responseUrl = form.get('response_url');
    const baseUrl = config.publicUrl ?? new URL(c.req.url).origin;
    const req: ChatRequest = { caller, text, command, baseUrl, links: reportLinker(baseUrl, reportLinks), ...(responseUrl ? { responseUrl } : {}) };
    // help, runbooks and refusals need no Redis (a replay of one to another replica gets the same harmless text).
    const sorted = answerFromMemory(deps, config, parsed, req);
    if ('reply' in sorted) {
      count('answered');
      return c.json(sorted.reply.message);
    }
    const reply = await replyWithinBudget({ deps, redis, config, followers }, sorted.needsRedis, req, signature);
    count(sorted.needsRedis.kind);
    return c.json(reply);
  };

  return app;
}
