// A command that needs Redis (status, cancel, run) answered within Slack's
// 3 s: in time, its answer is the ack; late, the ack says what is under way and
// the outcome is posted to response_url, in the same 5-post budget as the
// run's follower.
import type { RedisClient } from '../../redis/connection.js';
import { Unauthenticated } from '../../core/errors.js';
import { keys } from '../../redis/keys.js';
import { createLogger } from '../../util/logger.js';
import { ACK_BUDGET_MS, unlessAborted, withinBudget } from './ack-budget.js';
import { answerWithRedis, ephemeral, slowAck, type ChatDeps, type ChatReply, type ChatRequest, type RedisCommand } from './answer.js';
import type { ChatopsConfig } from './config.js';
import type { ChatFollowers } from './followers.js';
import { followRun } from './follow.js';
import { countingPost, postableUrl, ResponsePoster, type ChatMessage } from './response-poster.js';
import { REPLAY_MEMORY_SECONDS } from './verify.js';

const log = createLogger({ component: 'chatops' });

const seenKey = keys.chatopsSeen;

/** Redis's say on a replay, shared by every API replica: true the first time a signature is seen. */
async function firstTimeInRedis(redis: RedisClient, signature: string): Promise<boolean> {
  return (await redis.set(seenKey(signature), '1', 'EX', REPLAY_MEMORY_SECONDS, 'NX')) === 'OK';
}

export interface ReplyContext {
  deps: ChatDeps;
  /** Where signatures already seen are kept, shared by every API replica. */
  redis: RedisClient;
  config: ChatopsConfig;
  followers: ChatFollowers;
}

/**
 * The ack for `cmd`. `signature` (a verified Slack request's) is checked
 * against Redis for a replay first; a replay known in time is refused
 * (Unauthenticated), one found late starts nothing and is logged.
 */
export async function replyWithinBudget(ctx: ReplyContext, cmd: RedisCommand, req: ChatRequest, signature: string | undefined): Promise<ChatMessage> {
  const { deps, redis, followers } = ctx;
  const work = (async (): Promise<ChatReply | 'replay'> => {
    if (signature !== undefined && !(await firstTimeInRedis(redis, signature))) return 'replay';
    return answerWithRedis(deps, ctx.config, cmd, req);
  })();
  const responseUrl = postableUrl(req.responseUrl) ? req.responseUrl : undefined;
  const follow = (reply: ChatReply, poster: ResponsePoster, signal: AbortSignal) =>
    reply.follow ? followRun({ runs: deps.runs, runId: reply.follow.runId, links: req.links, durationMs: reply.follow.durationMs, poster, signal }) : undefined;

  const failed = (err: Error) => {
    log.warn('a chat command failed', { command: req.text, error: err.message });
    return ephemeral(`Sorry, \`${req.command} ${req.text}\` failed: ${err.message}. Try again in a moment.`);
  };
  let raced;
  try {
    raced = await withinBudget(work, ACK_BUDGET_MS);
  } catch (err) {
    return failed(err as Error);
  }
  if (raced.inTime) {
    const reply = raced.value;
    if (reply === 'replay') throw new Unauthenticated('unauthorized', 'this request was already received (replay)');
    if (reply.follow && responseUrl) {
      followers.start(
        `run ${reply.follow.runId}`,
        async (signal) => void (await follow(reply, new ResponsePoster(responseUrl, signal, countingPost(redis)), signal)),
      );
    }
    return reply.message;
  }

  followers.start(`late ${cmd.kind}`, async (signal) => {
    const poster = responseUrl ? new ResponsePoster(responseUrl, signal, countingPost(redis)) : undefined;
    let reply: ChatReply | 'replay' | undefined;
    try {
      reply = await unlessAborted(work, signal);
    } catch (err) {
      await poster?.send(failed(err as Error));
      return;
    }
    if (reply === undefined) return; // the API is stopping
    if (reply === 'replay') {
      log.warn('a replayed chat command (another replica received it first); nothing done', { command: req.text });
      return;
    }
    if (!poster) {
      log.info('a late chat answer with no response_url to post it to', { command: req.text, answer: reply.message.text });
      return;
    }
    await poster.send(reply.message);
    await follow(reply, poster, signal);
  });
  return slowAck(cmd, req, responseUrl !== undefined);
}
