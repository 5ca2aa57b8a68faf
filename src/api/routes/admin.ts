// /v1/tokens and /v1/audit: admin only.
import { Hono } from 'hono';
import type { AuditLog } from '../../core/audit.js';
import { NotFound } from '../../core/errors.js';
import type { TokenStore } from '../../core/tokens.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';
import { readJson, validationError } from '../errors.js';
import { auditQuery, newToken } from '../schemas/requests.js';

export interface AdminRoutesOptions {
  tokens: TokenStore;
  audit: AuditLog;
}

export function adminRoutes({ tokens, audit }: AdminRoutesOptions) {
  const admin = requireScope(tokens, 'admin');
  const app = new Hono<ApiEnv>();

  app.post('/tokens', admin, async (c) => {
    const parsed = newToken.safeParse(await readJson(c));
    if (!parsed.success) throw validationError(parsed.error);
    const actor = c.get('token').name;
    const { secret, record } = await tokens.create(parsed.data.name, [...new Set(parsed.data.scopes)], actor);
    await audit.record({ actor, action: 'token.create', subject: record.id, details: { name: record.name, scopes: record.scopes } });
    return c.json({ ...record, token: secret }, 201);
  });

  app.get('/tokens', admin, async (c) => c.json({ tokens: await tokens.list() }));

  app.delete('/tokens/:id', admin, async (c) => {
    const revoked = await tokens.revoke(c.req.param('id'));
    if (!revoked) throw new NotFound('token_not_found', `no token with id ${c.req.param('id')}`);
    await audit.record({ actor: c.get('token').name, action: 'token.revoke', subject: revoked.id, details: { name: revoked.name } });
    return c.json(revoked);
  });

  app.get('/audit', admin, async (c) => {
    const parsed = auditQuery.safeParse(c.req.query());
    if (!parsed.success) throw validationError(parsed.error, 'query');
    return c.json({ entries: await audit.read(parsed.data.limit, parsed.data.before) });
  });

  return app;
}
