// The session cookie: HttpOnly, SameSite=Strict, Secure when the request came
// over TLS (directly or behind a proxy saying X-Forwarded-Proto: https), with
// the session's own expiry. The session itself lives in Redis (core/sessions.ts).
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { SESSION_TTL_SECONDS, type SessionStore } from '../core/sessions.js';
import type { Scope } from '../core/tokens.js';
import type { ConsoleEnv } from './env.js';

export const SESSION_COOKIE = 'sherlock_session';

export function servedOverTls(c: Context): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return forwarded === 'https' || new URL(c.req.url).protocol === 'https:';
}

export function setSessionCookie(c: Context, id: string): void {
  setCookie(c, SESSION_COOKIE, id, { httpOnly: true, sameSite: 'Strict', secure: servedOverTls(c), path: '/', maxAge: SESSION_TTL_SECONDS });
}

export function clearSessionCookie(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: servedOverTls(c), httpOnly: true, sameSite: 'Strict' });
}

/** Loads the session behind the cookie, if any, into c.var.session. */
export function loadSession(sessions: SessionStore): MiddlewareHandler<ConsoleEnv> {
  return async function withSession(c, next) {
    const id = getCookie(c, SESSION_COOKIE);
    const session = await sessions.get(id);
    if (session && id) {
      c.set('session', session);
      c.set('sessionId', id);
    }
    await next();
  };
}

/**
 * Pages and actions that need `scope`: without a session a page sends the
 * browser to sign in (and back); a lacking scope is Forbidden (403).
 */
export function needScope(sessions: SessionStore, scope: Scope): MiddlewareHandler<ConsoleEnv> {
  return async function authorize(c, next) {
    const id = c.get('sessionId');
    if (!id && c.req.method === 'GET') return c.redirect(`/login?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}`, 303);
    await sessions.authorize(id, scope);
    await next();
  };
}
