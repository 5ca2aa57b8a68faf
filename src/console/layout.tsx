// Every page's frame: the nav (only what the session's scopes allow), the
// inline style and script under this response's CSP nonce, a skip link.
import type { Child } from 'hono/jsx';
import { grants } from '../core/tokens.js';
import type { Session } from '../core/sessions.js';
import { CSS, SCRIPT } from './assets.js';
import { CSRF_FIELD } from './csrf.js';

export interface LayoutProps {
  title: string;
  nonce: string;
  session?: Session;
  /** The nav entry of this page. */
  current?: 'runs' | 'start' | 'nodes' | 'schedules' | 'audit';
  children?: Child;
}

const NAV = [
  { id: 'runs', href: '/runs', text: 'Runs', scope: 'runs:read' },
  { id: 'start', href: '/start', text: 'Start a run', scope: 'runs:write' },
  { id: 'nodes', href: '/nodes', text: 'Nodes', scope: 'runs:read' },
  { id: 'schedules', href: '/schedules', text: 'Schedules', scope: 'runs:read' },
  { id: 'audit', href: '/audit', text: 'Audit', scope: 'admin' },
] as const;

export function Layout({ title, nonce, session, current, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Sherlock`}</title>
        <link rel="icon" href="data:," />
        <style nonce={nonce} dangerouslySetInnerHTML={{ __html: CSS }} />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="top">
          <span class="brand">Sherlock</span>
          {session && (
            <nav aria-label="Console">
              <ul>
                {NAV.filter((n) => grants(session.scopes, n.scope)).map((n) => (
                  <li>
                    <a href={n.href} aria-current={n.id === current ? 'page' : undefined}>
                      {n.text}
                    </a>
                  </li>
                ))}
              </ul>
            </nav>
          )}
          {session && (
            <form class="who" method="post" action="/logout">
              <span>
                {session.name} <span class="muted">({session.scopes.join(', ')})</span>
              </span>
              <input type="hidden" name={CSRF_FIELD} value={session.csrf} />
              <button type="submit">Sign out</button>
            </form>
          )}
        </header>
        <main id="main">
          <h1>{title}</h1>
          {children}
        </main>
        <script nonce={nonce} dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </body>
    </html>
  );
}
