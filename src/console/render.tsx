// A page as an HTTP answer: HTML with a CSP that allows only this response's
// inline style and script (nonce), same-origin SSE, forms and the report frame.
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Child } from 'hono/jsx';
import type { ConsoleEnv } from './env.js';
import { Layout, type LayoutProps } from './layout.js';

export const csp = (nonce: string) =>
  `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; connect-src 'self'; img-src 'self' data:; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export async function page(
  c: Context<ConsoleEnv>,
  props: Omit<LayoutProps, 'nonce' | 'session' | 'children'>,
  body: Child,
  status: ContentfulStatusCode = 200,
) {
  const nonce = c.get('nonce');
  c.header('content-security-policy', csp(nonce));
  c.header('cache-control', 'no-store');
  c.header('x-content-type-options', 'nosniff');
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
  // toString() is a promise at run time when a component is async; its type does not say so.
  const layout = (
    <Layout {...props} nonce={nonce} session={c.get('session')}>
      {body}
    </Layout>
  );
  const html = await Promise.resolve(layout.toString());
  return c.html(`<!doctype html>${html}`, status);
}

/** A fragment for a live update (SSE): the element's HTML as a string. */
export async function fragment(element: Child): Promise<string> {
  return String(await (element as { toString(): string | Promise<string> }).toString());
}
