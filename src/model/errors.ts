// Domain errors: what went wrong in the application's terms. The core, the
// planner and the runbooks throw them; only src/api/ turns them into HTTP
// statuses (and the CLI into messages). `code` is stable for machines,
// `message` says what was wrong and what is allowed, `details` backs it.
import type { z } from 'zod';

export abstract class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The request is malformed or breaks a rule (a bad field, an unknown capture). */
export class Invalid extends DomainError {
  override name = 'Invalid';
}

/** Well-formed, but nothing can be done with it (an alert no rule can turn into a run). */
export class Unprocessable extends DomainError {
  override name = 'Unprocessable';
}

/** The thing asked for does not exist (or expired). */
export class NotFound extends DomainError {
  override name = 'NotFound';
}

/** The state of things forbids it now (the run ended, no live node, the name is taken). */
export class Conflict extends DomainError {
  override name = 'Conflict';
}

/** The caller could not be identified (no or a wrong secret, a replayed request). */
export class Unauthenticated extends DomainError {
  override name = 'Unauthenticated';
}

/** The caller is known but may not do this. */
export class Forbidden extends DomainError {
  override name = 'Forbidden';
}

/** It existed, and no longer does (an expired link): asking again for a new one works. */
export class Expired extends DomainError {
  override name = 'Expired';
}

/** A dependency (Redis) cannot answer now; trying again later may work. */
export class Unavailable extends DomainError {
  override name = 'Unavailable';
}

/** Over a load limit now (too many queued runs, downloads); trying again after `retryAfterSeconds` may work. */
export class TooBusy extends DomainError {
  override name = 'TooBusy';
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
    details?: unknown,
  ) {
    super(code, message, details);
  }
}

/** A zod failure as Invalid, naming each bad field. */
export function invalidInput(error: z.ZodError, what = 'request body'): Invalid {
  const issues = error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  const message = `invalid ${what}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`;
  return new Invalid('invalid_request', message, issues);
}
