// Bearer-token auth with scopes: the token store (src/core/tokens.ts) says
// who the caller is and whether the scope is granted; 401/403 come from the
// error mapping (errors.ts).
import type { MiddlewareHandler } from 'hono';
import type { Scope, TokenStore } from '../core/tokens.js';
import type { ApiEnv } from './env.js';

export function requireScope(tokens: TokenStore, scope: Scope): MiddlewareHandler<ApiEnv> {
  return async function authorize(c, next) {
    const secret = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    c.set('token', await tokens.authorize(secret, scope));
    await next();
  };
}
