// Slack request signing (and Mattermost's shared token), checked on the raw
// body before anything parses it. Constant-time compares throughout.
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a request's timestamp may be from now (Slack's own rule). */
export const MAX_SKEW_SECONDS = 5 * 60;
/**
 * How long an accepted signature is remembered: a timestamp up to 5 min ahead
 * stays valid until 5 min after it, so 10 min from acceptance covers both sides.
 */
export const REPLAY_MEMORY_SECONDS = 2 * MAX_SKEW_SECONDS;

export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length !== y.length) {
    timingSafeEqual(x, x); // same work either way
    return false;
  }
  return timingSafeEqual(x, y);
}

export function slackSignature(secret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
}

export type SlackCheck = { ok: true } | { ok: false; reason: string };

/** Checks X-Slack-Signature and X-Slack-Request-Timestamp against the raw body. */
export function verifySlack(secret: string, rawBody: string, signature: string | undefined, timestamp: string | undefined, nowMs = Date.now()): SlackCheck {
  if (!signature || !timestamp) return { ok: false, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'X-Slack-Request-Timestamp is not a unix time' };
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'the request timestamp is more than 5 minutes from now (replay?)' };
  }
  if (!constantTimeEqual(signature, slackSignature(secret, timestamp, rawBody))) return { ok: false, reason: 'the signature does not match' };
  return { ok: true };
}
