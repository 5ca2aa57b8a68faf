// One slash command's posts to its response_url. Slack accepts at most 5 per
// command, so the late answer and the run's follower share this one budget;
// nothing is posted once the follow-up's signal is aborted (API shutdown).
import type { RedisClient } from '../../redis/connection.js';
import { addShared } from '../../redis/shared-metrics.js';
import { createLogger } from '../../util/logger.js';

const log = createLogger({ component: 'chatops' });

export const MAX_POSTS = 5;
const POST_TIMEOUT_MS = 5_000;

export interface ChatMessage {
  response_type: 'ephemeral' | 'in_channel';
  text: string;
  replace_original?: boolean;
}

export type PostJson = (url: string, message: ChatMessage, signal: AbortSignal) => Promise<void>;

async function postJson(url: string, message: ChatMessage, signal: AbortSignal): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.any([signal, AbortSignal.timeout(POST_TIMEOUT_MS)]),
  });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`response_url answered ${res.status}`);
}

/**
 * `post`, counting each delivery and failure in sherlock_chat_posts_total (a post given up at
 * shutdown is neither). The count is not awaited: a slow Redis must not hold the next post.
 */
export function countingPost(redis: RedisClient, post: PostJson = postJson): PostJson {
  const count = (outcome: string) => void addShared(redis, [{ name: 'sherlock_chat_posts_total', labels: { outcome } }]);
  return async (url, message, signal) => {
    try {
      await post(url, message, signal);
    } catch (err) {
      if (!signal.aborted) count('failed');
      throw err;
    }
    count('delivered');
  };
}

/** Whether a form's response_url is one we post to. */
export const postableUrl = (url: string | undefined): url is string => url !== undefined && /^https?:\/\//.test(url);

export class ResponsePoster {
  private posts = 0;

  constructor(
    readonly url: string,
    private readonly signal: AbortSignal,
    private readonly post: PostJson = postJson,
  ) {}

  /** Posts left in this command's budget. */
  get remaining(): number {
    return MAX_POSTS - this.posts;
  }

  /**
   * Posts `message` unless the budget is spent or the signal aborted; a
   * progress message (`final: false`) leaves the last post for the outcome.
   * Never rejects: a failed post is logged.
   */
  async send(message: ChatMessage, { final = true }: { final?: boolean } = {}): Promise<boolean> {
    if (this.signal.aborted || this.remaining < (final ? 1 : 2)) return false;
    this.posts++;
    try {
      await this.post(this.url, { replace_original: false, ...message }, this.signal);
      return true;
    } catch (err) {
      if (!this.signal.aborted) log.warn('response_url post failed', { error: (err as Error).message });
      return false;
    }
  }
}
