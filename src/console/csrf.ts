// CSRF protection for every form: a synchronizer token bound to the session
// (a hidden field compared in constant time with the session's secret), and
// for the sign-in form, where no session exists yet, a double-submit cookie.
// A request whose Origin names another site is refused before either.
import { timingSafeEqual, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { Forbidden } from '../core/errors.js';
import { servedOverTls } from './session.js';

export const CSRF_FIELD = '_csrf';
const LOGIN_COOKIE = 'sherlock_login_csrf';

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

function checkOrigin(c: Context): void {
  const origin = c.req.header('origin');
  if (origin && origin !== 'null' && origin !== new URL(c.req.url).origin) {
    const forwardedHost = c.req.header('x-forwarded-host') ?? c.req.header('host');
    if (!forwardedHost || new URL(origin).host !== forwardedHost) throw new Forbidden('csrf', `a form from ${origin} may not act on this console`);
  }
}

/** Throws Forbidden unless the form carries this session's CSRF token. */
export function checkCsrf(c: Context, expected: string, form: Record<string, unknown>): void {
  checkOrigin(c);
  const given = form[CSRF_FIELD];
  if (typeof given !== 'string' || !same(given, expected)) {
    throw new Forbidden('csrf', 'the form is stale or did not come from this console; reload the page and send it again');
  }
}

/** A fresh token for the sign-in form, also set as a short-lived SameSite=Strict cookie. */
export function issueLoginCsrf(c: Context): string {
  const token = randomBytes(24).toString('base64url');
  setCookie(c, LOGIN_COOKIE, token, { httpOnly: true, sameSite: 'Strict', secure: servedOverTls(c), path: '/login', maxAge: 3600 });
  return token;
}

export function checkLoginCsrf(c: Context, form: Record<string, unknown>): void {
  const cookie = getCookie(c, LOGIN_COOKIE);
  if (!cookie) throw new Forbidden('csrf', 'the sign-in form expired or cookies are off; reload the page and sign in again');
  checkCsrf(c, cookie, form);
}
