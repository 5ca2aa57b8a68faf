// Bearer-token auth with scopes: 401 without a valid token, 403 with the
// wrong scope. `admin` can do everything; `runs:write` may also read runs.
import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './context.js';
import { ApiError } from './errors.js';
import type { Scope, TokenStore } from './tokens.js';

const implied: Record<Scope, Scope[]> = {
  admin: ['admin', 'runs:write', 'runs:read'],
  'runs:write': ['runs:write', 'runs:read'],
  'runs:read': ['runs:read'],
};

export function requireScope(tokens: TokenStore, scope: Scope): MiddlewareHandler<ApiEnv> {
  return async function authorize(c, next) {
    const header = c.req.header('authorization') ?? '';
    const secret = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    if (!secret) throw new ApiError(401, 'unauthorized', 'send an API token: Authorization: Bearer <token>');
    const token = await tokens.verify(secret);
    if (!token) throw new ApiError(401, 'unauthorized', 'the API token is unknown or revoked');
    if (!token.scopes.some((s) => implied[s].includes(scope))) {
      throw new ApiError(403, 'forbidden', `this token lacks the ${scope} scope (it has: ${token.scopes.join(', ')})`);
    }
    c.set('token', token);
    await next();
  };
}
