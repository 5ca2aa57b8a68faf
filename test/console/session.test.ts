// Sign-in, the session cookie and CSRF over real HTTP on loopback (no browser):
// the cookie's attributes (Secure behind a TLS proxy), Redis holding only the
// hash of a session id, the sign-in form's own CSRF check, no open redirect
// after sign-in, a revoked token ending its sessions, and scopes on pages.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../server/harness.js';

interface Signed {
  cookie: string;
  setCookie: string;
  location: string | null;
}

/** GET /login for its CSRF cookie and field, then POST the token. */
async function signIn(base: string, token: string, { next = '', headers = {} as Record<string, string> } = {}): Promise<Signed> {
  const form = await fetch(`${base}/login`, { headers });
  const csrfCookie = (form.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1]!;
  const res = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { ...headers, cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, _csrf: csrf, next }),
  });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { cookie: /sherlock_session=[^;]+/.exec(setCookie)?.[0] ?? '', setCookie, location: res.headers.get('location') };
}

describe('console sessions and CSRF', () => {
  let stack: Stack;
  let base: string;

  beforeAll(async () => {
    stack = await startStack();
    base = stack.api.url;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('sets an HttpOnly SameSite=Strict cookie with an expiry, Secure only over TLS', async () => {
    const plain = await signIn(base, stack.adminToken);
    expect(plain.setCookie).toMatch(/HttpOnly/);
    expect(plain.setCookie).toMatch(/SameSite=Strict/);
    expect(plain.setCookie).toMatch(/Max-Age=28800/);
    expect(plain.setCookie).not.toMatch(/Secure/);
    const proxied = await signIn(base, stack.adminToken, { headers: { 'x-forwarded-proto': 'https' } });
    expect(proxied.setCookie).toMatch(/; Secure/);
  });

  it('keeps only the hash of the session id in Redis, with a TTL', async () => {
    const { cookie } = await signIn(base, stack.adminToken);
    const id = cookie.split('=')[1]!;
    const keys = await stack.conn.keys('{sherlock}:console-session:*');
    expect(keys).toContain(`{sherlock}:console-session:${createHash('sha256').update(id).digest('hex')}`);
    expect(keys.some((k) => k.includes(id))).toBe(false);
    const stored = await stack.conn.get(`{sherlock}:console-session:${createHash('sha256').update(id).digest('hex')}`);
    expect(stored).not.toContain(stack.adminToken);
    expect(await stack.conn.ttl(`{sherlock}:console-session:${createHash('sha256').update(id).digest('hex')}`)).toBeGreaterThan(8 * 3600 - 60);
  });

  it("refuses a sign-in without the form's CSRF cookie", async () => {
    const res = await fetch(`${base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: stack.adminToken, _csrf: 'x' }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('set-cookie') ?? '').not.toMatch(/sherlock_session=/);
  });

  it('goes back to the page asked for, never to another site', async () => {
    expect((await signIn(base, stack.adminToken, { next: '/nodes' })).location).toBe('/nodes');
    expect((await signIn(base, stack.adminToken, { next: '//evil.example/' })).location).toBe('/runs');
    expect((await signIn(base, stack.adminToken, { next: 'https://evil.example/' })).location).toBe('/runs');
  });

  it('refuses a form posted from another origin even with the right token', async () => {
    const { cookie } = await signIn(base, stack.adminToken);
    const page = await (await fetch(`${base}/runs`, { headers: { cookie } })).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    const res = await fetch(`${base}/logout`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf }),
    });
    expect(res.status).toBe(403);
    expect((await fetch(`${base}/runs`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
  });

  it('ends the sessions of a revoked token at once', async () => {
    const { secret, record } = await stack.api.tokens.create('short-lived', ['runs:read'], 'test');
    const { cookie } = await signIn(base, secret);
    expect((await fetch(`${base}/runs`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
    expect((await stack.admin.delete(`/v1/tokens/${record.id}`)).status).toBe(200);
    const after = await fetch(`${base}/runs`, { headers: { cookie }, redirect: 'manual' });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/login?next=%2Fruns');
  });

  it('answers 403 on a page the scopes do not allow, and 400 in words on a bad filter', async () => {
    const { secret } = await stack.api.tokens.create('reader', ['runs:read'], 'test');
    const { cookie } = await signIn(base, secret);
    const audit = await fetch(`${base}/audit`, { headers: { cookie } });
    expect(audit.status).toBe(403);
    expect(await audit.text()).toContain('lacks the admin scope');
    expect((await fetch(`${base}/start`, { headers: { cookie } })).status).toBe(403);
    const bad = await fetch(`${base}/runs?status=sleeping`, { headers: { cookie } });
    expect(bad.status).toBe(400);
    const text = await bad.text();
    expect(text).toContain('status');
    expect(text).not.toMatch(/\n\s+at /);
  });

  it("shows the runbook's own refusal of a param beside its field, the form kept as typed", async () => {
    const { cookie } = await signIn(base, stack.adminToken);
    const form = await (await fetch(`${base}/start/high-cpu`, { headers: { cookie } })).text();
    expect(form).toMatch(/<input[^>]*name="p.frequency"[^>]*min="1"[^>]*max="999"|<input[^>]*max="999"[^>]*name="p.frequency"/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)![1]!;
    const post = (fields: Record<string, string>) =>
      fetch(`${base}/start/high-cpu`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ _csrf: csrf, where: 'all', ...fields }),
      });
    const param = await post({ 'p.frequency': '5000' });
    expect(param.status).toBe(400);
    const page = await param.text();
    expect(page).toMatch(/id="f-p-frequency-error">[^<]*5000 is above the maximum 999/);
    expect(page).toMatch(/name="p.frequency"[^>]*value="5000"|value="5000"[^>]*name="p.frequency"/);
    // The request's own schema (src/model/target.ts) speaks for the target fields.
    const target = await post({ 'target.port': 'eighty' });
    expect(target.status).toBe(400);
    expect(await target.text()).toMatch(/id="f-target-port-error">[^<]*number/);
    expect(await stack.conn.zcard('{sherlock}:runs')).toBe(0);
  });

  it('sends a small, compressed first page with a strict CSP', async () => {
    const { cookie } = await signIn(base, stack.adminToken);
    const res = await fetch(`${base}/runs`, { headers: { cookie, 'accept-encoding': 'gzip' } });
    expect(res.headers.get('content-encoding')).toBe('gzip');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect((await res.text()).length).toBeLessThan(200 * 1024);
  });
});
