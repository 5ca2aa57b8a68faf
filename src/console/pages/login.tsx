// Sign in: an API token, sent once by form POST, becomes a session cookie; the
// token itself is never stored in the browser. Sign out ends the session.
import { Hono } from 'hono';
import type { AuditLog } from '../../core/audit.js';
import type { SessionStore } from '../../core/sessions.js';
import { Unauthenticated } from '../../core/errors.js';
import { checkCsrf, checkLoginCsrf, CSRF_FIELD, issueLoginCsrf } from '../csrf.js';
import type { ConsoleEnv } from '../env.js';
import { page } from '../render.js';
import { clearSessionCookie, setSessionCookie } from '../session.js';

export interface LoginPageOptions {
  sessions: SessionStore;
  audit: AuditLog;
}

/** Only a path on this console: "/runs?x" yes, "//evil" or "https://..." no. */
const safeNext = (next: unknown) => (typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/runs');

function LoginForm({ csrf, next, error }: { csrf: string; next: string; error?: string }) {
  return (
    <form class="login" method="post" action="/login">
      {error && (
        <p class="banner bad" role="alert" id="login-error">
          {error}
        </p>
      )}
      <p>
        Sign in with an API token (<code>sherlock up</code> prints the admin token; an admin makes others with <code>POST /v1/tokens</code>).
      </p>
      <div class="field">
        <label for="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          required
          size={40}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={error ? 'login-error' : undefined}
        />
      </div>
      <input type="hidden" name={CSRF_FIELD} value={csrf} />
      <input type="hidden" name="next" value={next} />
      <button type="submit">Sign in</button>
    </form>
  );
}

export function loginPage({ sessions, audit }: LoginPageOptions) {
  const app = new Hono<ConsoleEnv>();

  app.get('/login', (c) => {
    if (c.get('session')) return c.redirect(safeNext(c.req.query('next')), 303);
    return page(c, { title: 'Sign in' }, <LoginForm csrf={issueLoginCsrf(c)} next={safeNext(c.req.query('next'))} />);
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    checkLoginCsrf(c, form);
    const next = safeNext(form.next);
    try {
      const { id, session } = await sessions.login(typeof form.token === 'string' ? form.token : undefined);
      setSessionCookie(c, id);
      await audit.record({ actor: session.name, action: 'console.login', subject: session.tokenId, details: { expiresAt: session.expiresAt } });
      return c.redirect(next, 303);
    } catch (err) {
      if (!(err instanceof Unauthenticated)) throw err;
      return page(c, { title: 'Sign in' }, <LoginForm csrf={issueLoginCsrf(c)} next={next} error="That token is unknown or revoked." />, 401);
    }
  });

  app.post('/logout', async (c) => {
    const session = c.get('session');
    const id = c.get('sessionId');
    if (session && id) {
      checkCsrf(c, session.csrf, await c.req.parseBody());
      await sessions.logout(id);
      await audit.record({ actor: session.name, action: 'console.logout', subject: session.tokenId });
    }
    clearSessionCookie(c);
    return c.redirect('/login', 303);
  });

  return app;
}
