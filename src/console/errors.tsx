// Errors as pages: a domain error gets the API's status for it (api/errors.ts)
// and its message in words; anything else is logged and shown as a 500 with no
// detail. A session that is gone sends the browser to sign in.
import type { Context } from 'hono';
import { statusOf } from '../api/errors.js';
import { DomainError, Unauthenticated } from '../core/errors.js';
import { createLogger } from '../util/logger.js';
import type { ConsoleEnv } from './env.js';
import { page } from './render.js';

const log = createLogger({ component: 'console' });

export function consoleError(err: Error, c: Context<ConsoleEnv>) {
  if (err instanceof Unauthenticated && c.req.method === 'GET') return c.redirect('/login', 303);
  if (err instanceof DomainError) {
    const status = statusOf(err);
    const title = status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : status === 401 ? 'Sign in first' : 'That did not work';
    return page(c, { title }, <ErrorBody message={err.message} signIn={status === 401} />, status);
  }
  const status = (err as { status?: number }).status;
  if (status === 413) return page(c, { title: 'Too large' }, <ErrorBody message="the form is larger than the limit (1 MiB)" />, 413);
  log.error('console request failed', { method: c.req.method, path: c.req.path, error: err.message });
  return page(c, { title: 'Something failed' }, <ErrorBody message="the server failed to handle this request; it is logged" />, 500);
}

function ErrorBody({ message, signIn }: { message: string; signIn?: boolean }) {
  return (
    <div>
      <p class="banner bad" role="alert">
        {message}
      </p>
      <p>{signIn ? <a href="/login">Sign in</a> : <a href="/runs">Back to the runs</a>}</p>
    </div>
  );
}
