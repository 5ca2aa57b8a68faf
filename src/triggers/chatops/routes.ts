// POST /v1/chatops/slack: Slack (and Mattermost) slash commands. The
// signature is the auth: checked on the raw body before it is parsed; a
// receiver with no secret configured is disabled (404). Replies are 200 with a
// chat message, also for a command that does not parse or is not allowed.
import { Hono, type Context } from 'hono';
import { audit } from '../../api/audit.js';
import type { ApiDeps } from '../../api/context.js';
import { ApiError, errorBody } from '../../api/errors.js';
import { startRun } from '../../api/start-run.js';
import { keys } from '../../redis/keys.js';
import { FINAL_STATUSES } from '../../runs/types.js';
import { allowed, chatopsConfig, type Caller, type ChatopsConfig } from './config.js';
import { followRun, reportLinks, type ChatMessage } from './follow.js';
import { helpText, parseCommand, type ChatCommand } from './parse.js';
import { constantTimeEqual, MAX_SKEW_SECONDS, verifySlack } from './verify.js';

const seenKey = (signature: string) => `sherlock:chatops:seen:${signature}`;

const ephemeral = (text: string): ChatMessage => ({ response_type: 'ephemeral', text });

export interface ChatopsOptions {
  env?: NodeJS.ProcessEnv;
}

export function chatopsRoutes(deps: ApiDeps, options: ChatopsOptions = {}) {
  const app = new Hono();

  app.post('/slack', async (c) => {
    const config = chatopsConfig(options.env ?? process.env);
    if (!config.signingSecret && !config.mattermostToken) {
      return c.json(errorBody('not_found', 'the Slack/Mattermost receiver is disabled: set SHERLOCK_SLACK_SIGNING_SECRET or SHERLOCK_MATTERMOST_TOKEN'), 404);
    }
    const raw = await c.req.text();
    const signature = c.req.header('x-slack-signature');
    if (signature !== undefined || !config.mattermostToken) {
      if (!config.signingSecret) throw new ApiError(401, 'unauthorized', 'Slack signatures are not accepted here (no signing secret is configured)');
      const check = verifySlack(config.signingSecret, raw, signature, c.req.header('x-slack-request-timestamp'));
      if (!check.ok) throw new ApiError(401, 'unauthorized', check.reason);
      const fresh = await deps.redis.set(seenKey(signature!), '1', 'EX', MAX_SKEW_SECONDS, 'NX');
      if (fresh !== 'OK') throw new ApiError(401, 'unauthorized', 'this request was already received (replay)');
    }
    const form = new URLSearchParams(raw);
    if (signature === undefined && config.mattermostToken) {
      if (!constantTimeEqual(form.get('token') ?? '', config.mattermostToken)) throw new ApiError(401, 'unauthorized', 'the token does not match');
    }
    const caller: Caller = {
      userId: form.get('user_id') ?? '',
      userName: form.get('user_name') ?? '',
      channelId: form.get('channel_id') ?? '',
      channelName: form.get('channel_name') ?? '',
    };
    const text = (form.get('text') ?? '').slice(0, 2000);
    const command = (form.get('command') ?? '/sherlock').slice(0, 50);
    const runbooks = deps.runbooks?.names() ?? [];
    const parsed = parseCommand(text, runbooks, config.aliases);
    return c.json(await answer(c, deps, config, parsed, { caller, text, command, responseUrl: form.get('response_url') ?? undefined }));
  });

  return app;
}

interface Request {
  caller: Caller;
  text: string;
  command: string;
  responseUrl?: string;
}

async function answer(c: Context, deps: ApiDeps, config: ChatopsConfig, cmd: ChatCommand, req: Request): Promise<ChatMessage> {
  const runbooks = deps.runbooks?.names() ?? [];
  const actor = `slack:${req.caller.userName} (${req.caller.userId}) in #${req.caller.channelName}`;
  const baseUrl = config.publicUrl ?? new URL(c.req.url).origin;
  switch (cmd.kind) {
    case 'help': {
      const head = cmd.problem ? `Sorry, I did not understand: ${cmd.problem}.${cmd.suggestion ? ` Did you mean *${cmd.suggestion}*?` : ''}\n` : '';
      return ephemeral(head + helpText(runbooks, config.aliases, req.command));
    }
    case 'runbooks': {
      const list = deps.runbooks?.list() ?? [];
      return ephemeral(list.length ? list.map((r) => `• *${r.name}*: ${r.title}`).join('\n') : 'No runbooks are loaded.');
    }
    case 'status': {
      const run = await deps.store.get(cmd.run);
      if (!run) return ephemeral(`No run ${cmd.run}.`);
      const nodes = Object.entries(run.nodes).map(([n, s]) => `${n}: ${s.status}`).join(', ');
      return ephemeral(`Run ${run.id} (${run.plan.runbook ?? 'ad-hoc'}): *${run.status}*; ${nodes}. Report: ${reportLinks(baseUrl, run.id).html}`);
    }
    case 'cancel': {
      const run = await deps.store.get(cmd.run);
      if (!run) return ephemeral(`No run ${cmd.run}.`);
      if (run.plan.runbook && !allowed(config, run.plan.runbook, req.caller)) return ephemeral(`You may not cancel ${run.plan.runbook} runs here.`);
      if (FINAL_STATUSES.has(run.status)) return ephemeral(`Run ${run.id} already ended (${run.status}).`);
      await deps.store.requestCancel(run.id);
      await deps.redis.publish(keys.cancelChannel, run.id);
      for (const [node, state] of Object.entries(run.nodes)) {
        if (state.status === 'queued' && (await deps.removeWaitingNodeJob(run.id, node))) {
          await deps.store.setNodeState(run.id, node, { status: 'cancelled', finishedAt: new Date().toISOString() });
        }
      }
      await audit(deps.redis, { actor, action: 'run.cancel', subject: run.id, details: { origin: { user: req.caller.userName, channel: req.caller.channelName, command: req.text } } });
      await deps.store.finalizeIfDone(run.id);
      return { response_type: 'in_channel', text: `Cancel requested for run ${run.id} by ${req.caller.userName}.` };
    }
    case 'run': {
      if (!allowed(config, cmd.runbook, req.caller)) {
        return ephemeral(`Sorry, ${req.caller.userName || 'you'} may not run ${cmd.runbook}${req.caller.channelName ? ` in #${req.caller.channelName}` : ''}.`);
      }
      const body = {
        runbook: cmd.runbook,
        params: typedParams(deps, cmd.runbook, cmd.params),
        targets: cmd.nodes ? { nodes: cmd.nodes } : { all: true as const },
        ...(cmd.duration ? { duration: cmd.duration } : {}),
        reason: `${req.command} ${req.text}`.slice(0, 500),
      };
      let run;
      try {
        run = await startRun(deps, body, { actor, origin: { user: req.caller.userName, channel: req.caller.channelName, command: `${req.command} ${req.text}` } });
      } catch (err) {
        if (err instanceof ApiError) return ephemeral(`Could not start ${cmd.runbook}: ${err.message}`);
        throw err;
      }
      const links = reportLinks(baseUrl, run.id);
      if (req.responseUrl && /^https?:\/\//.test(req.responseUrl)) {
        void followRun({ store: deps.store, runId: run.id, responseUrl: req.responseUrl, baseUrl, durationMs: run.plan.durationMs });
      }
      const seconds = Math.round(run.plan.durationMs / 1000);
      return {
        response_type: 'in_channel',
        text: `${req.caller.userName} started *${cmd.runbook}* (run ${run.id}) for ${seconds}s on ${run.plan.nodes.join(', ')}. Report when done: ${links.html}`,
      };
    }
  }
}

/** Form values are text; a runbook's int and bool params get numbers and booleans. */
function typedParams(deps: ApiDeps, runbook: string, params: Record<string, string>): Record<string, unknown> {
  const specs = deps.runbooks?.get(runbook)?.params ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    const type = specs[name]?.type;
    if (type === 'int' && /^-?\d{1,15}$/.test(value)) out[name] = Number(value);
    else if (type === 'bool' && /^(true|false)$/i.test(value)) out[name] = value.toLowerCase() === 'true';
    else out[name] = value;
  }
  return out;
}
