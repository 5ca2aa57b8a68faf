// Every API error is JSON {error: {code, message, details}}: what was wrong
// and what is allowed. Never a stack trace. The one place domain errors
// (src/model/errors.ts) become HTTP statuses.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import {
  Conflict,
  DomainError,
  Expired,
  Forbidden,
  invalidInput,
  Invalid,
  NotFound,
  Unauthenticated,
  Unavailable,
  Unprocessable,
  TooBusy,
} from '../core/errors.js';
import { isRedisUnavailable } from '../redis/connection.js';
import { createLogger } from '../util/logger.js';

const log = createLogger({ component: 'api' });

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

/** The HTTP status of each kind of domain error. */
export function statusOf(err: DomainError): ContentfulStatusCode {
  if (err instanceof Invalid) return 400;
  if (err instanceof Unauthenticated) return 401;
  if (err instanceof Forbidden) return 403;
  if (err instanceof NotFound) return 404;
  if (err instanceof Conflict) return 409;
  if (err instanceof Expired) return 410;
  if (err instanceof Unprocessable) return 422;
  if (err instanceof Unavailable) return 503;
  if (err instanceof TooBusy) return 429;
  return 500;
}

/** A zod failure as a 400 that names each bad field. */
export function validationError(error: z.ZodError, what = 'request body'): Invalid {
  return invalidInput(error, what);
}

export function handleError(err: Error, c: Context) {
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message, err.details), err.status);
  if (err instanceof TooBusy) c.header('Retry-After', String(err.retryAfterSeconds));
  if (err instanceof DomainError) return c.json(errorBody(err.code, err.message, err.details), statusOf(err));
  const status = (err as { status?: number }).status;
  if (status === 413) return c.json(errorBody('payload_too_large', 'request body is larger than the limit (1 MiB)'), 413);
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return c.json(errorBody('bad_request', err.message), status as ContentfulStatusCode);
  }
  if (isRedisUnavailable(err)) {
    log.warn('request failed: Redis unavailable', { method: c.req.method, path: c.req.path, error: err.message });
    c.header('Retry-After', '5');
    return c.json(errorBody('redis_unavailable', `Redis is unreachable or failing over (${err.message}); retry in a few seconds`), 503);
  }
  log.error('request failed', { method: c.req.method, path: c.req.path, error: err.message });
  return c.json(errorBody('internal', 'the server failed to handle this request; it is logged'), 500);
}

/** Parses a JSON body; non-JSON is a 400 that says so. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!type.includes('application/json')) throw new ApiError(415, 'unsupported_media_type', 'send the body as JSON with Content-Type: application/json');
  try {
    return await c.req.json();
  } catch (err) {
    if ((err as { status?: number }).status === 413) throw err; // over the body limit (body-limit.ts)
    throw new ApiError(400, 'invalid_json', 'the body is not valid JSON');
  }
}
