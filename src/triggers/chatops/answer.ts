// What a parsed slash command does and what it answers: help and runbooks
// from memory, status/cancel/run through Redis. Kept apart from the route so
// the route can race the Redis-bound ones against the ack budget.
import { DomainError } from '../../core/errors.js';
import type { RunService } from '../../core/runs.js';
import { FINAL_STATUSES } from '../../model/run.js';
import type { RunbookCatalog } from '../../runbooks/catalog.js';
import { own } from '../../util/own.js';
import { allowed, type Caller, type ChatopsConfig } from './config.js';
import type { ReportLinker } from './follow.js';
import { helpText, type ChatCommand } from './parse.js';
import type { ChatMessage } from './response-poster.js';

export interface ChatRequest {
  caller: Caller;
  text: string;
  command: string;
  responseUrl?: string;
  /** The public URL, else the request's origin. */
  baseUrl: string;
  /** The report links replies show (signed when a key is configured). */
  links: ReportLinker;
}

/** The chat message, and the run to follow on response_url if one was started. */
export interface ChatReply {
  message: ChatMessage;
  follow?: { runId: string; durationMs: number };
}

/** What answering chat commands needs. */
export interface ChatDeps {
  runs: Pick<RunService, 'start' | 'find' | 'cancel' | 'storedFindings'>;
  /** The runbooks this replica loaded (absent: none to list or run). */
  runbooks?: Pick<RunbookCatalog, 'get' | 'names' | 'list'>;
}

export const ephemeral = (text: string): ChatMessage => ({ response_type: 'ephemeral', text });

export type RedisCommand = Extract<ChatCommand, { kind: 'status' | 'cancel' | 'run' }>;

const actorOf = (caller: Caller) => `slack:${caller.userName} (${caller.userId}) in #${caller.channelName}`;

/** help, runbooks and a run the caller may not start are answered from memory; the other commands need Redis. */
export function answerFromMemory(
  deps: Pick<ChatDeps, 'runbooks'>,
  config: ChatopsConfig,
  cmd: ChatCommand,
  req: ChatRequest,
): { reply: ChatReply } | { needsRedis: RedisCommand } {
  const runbooks = deps.runbooks?.names() ?? [];
  switch (cmd.kind) {
    case 'help': {
      const head = cmd.problem ? `Sorry, I did not understand: ${cmd.problem}.${cmd.suggestion ? ` Did you mean *${cmd.suggestion}*?` : ''}\n` : '';
      return { reply: { message: ephemeral(head + helpText(runbooks, config.aliases, req.command)) } };
    }
    case 'runbooks': {
      const list = deps.runbooks?.list() ?? [];
      return { reply: { message: ephemeral(list.length ? list.map((r) => `• *${r.name}*: ${r.title}`).join('\n') : 'No runbooks are loaded.') } };
    }
    case 'run':
      return allowed(config, cmd.runbook, req.caller) ? { needsRedis: cmd } : { reply: refusal(cmd.runbook, req.caller) };
    default:
      return { needsRedis: cmd };
  }
}

const refusal = (runbook: string, caller: Caller): ChatReply => ({
  message: ephemeral(`Sorry, ${caller.userName || 'you'} may not run ${runbook}${caller.channelName ? ` in #${caller.channelName}` : ''}.`),
});

/** status, cancel and run: they read or write the run store (Redis). */
export async function answerWithRedis(deps: ChatDeps, config: ChatopsConfig, cmd: RedisCommand, req: ChatRequest): Promise<ChatReply> {
  const actor = actorOf(req.caller);
  switch (cmd.kind) {
    case 'status': {
      const run = await deps.runs.find(cmd.run);
      if (!run) return { message: ephemeral(`No run ${cmd.run}.`) };
      const nodes = Object.entries(run.nodes)
        .map(([n, s]) => `${n}: ${s.status}`)
        .join(', ');
      return {
        message: ephemeral(`Run ${run.id} (${run.plan.runbook ?? 'ad-hoc'}): *${run.status}*; ${nodes}. Report: ${req.links(run.id).html}`),
      };
    }
    case 'cancel': {
      const run = await deps.runs.find(cmd.run);
      if (!run) return { message: ephemeral(`No run ${cmd.run}.`) };
      if (run.plan.runbook && !allowed(config, run.plan.runbook, req.caller))
        return { message: ephemeral(`You may not cancel ${run.plan.runbook} runs here.`) };
      if (FINAL_STATUSES.has(run.status)) return { message: ephemeral(`Run ${run.id} already ended (${run.status}).`) };
      await deps.runs.cancel(run, { actor, details: { origin: { user: req.caller.userName, channel: req.caller.channelName, command: req.text } } });
      return { message: { response_type: 'in_channel', text: `Cancel requested for run ${run.id} by ${req.caller.userName}.` } };
    }
    case 'run': {
      if (!allowed(config, cmd.runbook, req.caller)) return refusal(cmd.runbook, req.caller);
      const body = {
        runbook: cmd.runbook,
        params: typedParams(deps, cmd.runbook, cmd.params),
        targets: cmd.nodes ? { nodes: cmd.nodes } : { all: true as const },
        ...(cmd.duration ? { duration: cmd.duration } : {}),
        reason: `${req.command} ${req.text}`.slice(0, 500),
      };
      let run;
      try {
        run = await deps.runs.start(body, {
          actor,
          origin: { user: req.caller.userName, channel: req.caller.channelName, command: `${req.command} ${req.text}` },
        });
      } catch (err) {
        if (err instanceof DomainError) return { message: ephemeral(`Could not start ${cmd.runbook}: ${err.message}`) };
        throw err;
      }
      const seconds = Math.round(run.plan.durationMs / 1000);
      return {
        message: {
          response_type: 'in_channel',
          text: `${req.caller.userName} started *${cmd.runbook}* (run ${run.id}) for ${seconds}s on ${run.plan.nodes.join(', ')}. Report when done: ${req.links(run.id).html}`,
        },
        follow: { runId: run.id, durationMs: run.plan.durationMs },
      };
    }
  }
}

/** The ack when Redis did not answer within the ack budget: what is under way, honestly. */
export function slowAck(cmd: RedisCommand, req: ChatRequest, willPost: boolean): ChatMessage {
  const tail = willPost
    ? `Sherlock's store is slow; the ${cmd.kind === 'run' ? 'run id' : 'outcome'} follows here.`
    : `Sherlock's store is slow and this command has no response_url, so the outcome cannot follow here: see ${req.baseUrl}/v1/runs.`;
  switch (cmd.kind) {
    case 'run': {
      const user = req.caller.userName ? `${req.caller.userName} is starting` : 'Starting';
      return { response_type: 'in_channel', text: `${user} *${cmd.runbook}* on ${cmd.nodes ? cmd.nodes.join(', ') : 'every live node'}… ${tail}` };
    }
    case 'cancel':
      return { response_type: 'in_channel', text: `Cancelling run ${cmd.run}… ${tail}` };
    case 'status':
      return ephemeral(`Looking up run ${cmd.run}… ${tail}`);
  }
}

/** Form values are text; a runbook's int and bool params get numbers and booleans. */
function typedParams(deps: Pick<ChatDeps, 'runbooks'>, runbook: string, params: Record<string, string>): Record<string, unknown> {
  const specs = deps.runbooks?.get(runbook)?.params ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    const type = own(specs, name)?.type;
    if (type === 'int' && /^-?\d{1,15}$/.test(value)) out[name] = Number(value);
    else if (type === 'bool' && /^(true|false)$/i.test(value)) out[name] = value.toLowerCase() === 'true';
    else out[name] = value;
  }
  return out;
}
