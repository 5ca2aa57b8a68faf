// The body of a request that authenticates with its body (signed chat
// commands and webhooks): at most `maxBytes`, within `deadlineMs` of the first
// read, or the request is refused (413, 408) and its connection closed, so a
// slow or endless sender holds nothing for long.
import type { Context } from 'hono';
import { ApiError } from './errors.js';

import { DEFAULT_BODY_LIMITS, type BodyLimits } from '../config/body-limits.js';

export type { BodyLimits };

export async function readBodyWithin(c: Context, limits: BodyLimits = DEFAULT_BODY_LIMITS): Promise<Buffer> {
  const { signedBodyBytes: maxBytes, bodyDeadlineMs } = limits;
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    // Refused unread: drop the stream, or the adapter would wait to drain what the sender never sends.
    void c.req.raw.body?.cancel().catch(() => {});
    c.header('connection', 'close');
    throw tooLarge(maxBytes);
  }
  const body = c.req.raw.body;
  if (!body) return Buffer.alloc(0);
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), bodyDeadlineMs)));
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), late]);
      if (next === 'late') throw new ApiError(408, 'request_timeout', `the request body did not arrive within ${bodyDeadlineMs / 1000} s`);
      if (next.done) break;
      total += next.value.byteLength;
      if (total > maxBytes) throw tooLarge(maxBytes);
      parts.push(next.value);
    }
    return Buffer.concat(parts);
  } catch (err) {
    void reader.cancel().catch(() => {});
    c.header('connection', 'close');
    throw (err as { status?: number }).status === 413 && !(err instanceof ApiError) ? tooLarge(maxBytes) : err;
  } finally {
    clearTimeout(timer);
  }
}

const tooLarge = (maxBytes: number) => new ApiError(413, 'payload_too_large', `request body is larger than ${maxBytes} bytes (limits.signedBodyBytes)`);
