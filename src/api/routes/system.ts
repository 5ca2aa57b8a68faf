// Health, metrics, the capture catalogue, live nodes and the OpenAPI document.
import { Hono } from 'hono';
import type { RedisClient } from '../../redis/connection.js';
import { z } from 'zod';
import { captures } from '../../captures/registry.js';
import type { NodeService } from '../../core/nodes.js';
import type { TokenStore } from '../../core/tokens.js';
import { requireScope } from '../auth.js';
import type { ApiEnv } from '../env.js';
import { errorBody } from '../errors.js';
import type { HttpMetrics } from '../metrics.js';
import { openApiDocument } from '../openapi.js';
import { nodeLines, queueLines } from './node-metrics.js';
import { sharedLines } from './shared-metrics.js';
import { paramsSchema } from '../../captures/params-schema.js';

const HEALTH_TIMEOUT_MS = 2_000;

function pingWithin(redis: RedisClient, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const ping = redis.ping();
  ping.catch(() => {}); // may settle after the timeout answered
  return Promise.race([ping, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no PING reply within ${ms} ms`)), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

export interface SystemRoutesOptions {
  /** The API's own connection: /healthz reports whether it is up. */
  redis: RedisClient;
  nodes: NodeService;
  tokens: TokenStore;
  httpMetrics: HttpMetrics;
}

export function systemRoutes({ redis, nodes, tokens, httpMetrics }: SystemRoutesOptions) {
  const read = requireScope(tokens, 'runs:read');
  const app = new Hono<ApiEnv>();

  app.get('/healthz', async (c) => {
    try {
      // The connection queues commands while it reconnects (maxRetriesPerRequest: null):
      // a ping then would wait for Redis to come back instead of reporting it gone.
      if (redis.status !== 'ready') throw new Error(`the connection is ${redis.status}`);
      await pingWithin(redis, HEALTH_TIMEOUT_MS);
      return c.json({ status: 'ok', redis: 'reachable' });
    } catch (err) {
      return c.json(errorBody('redis_unreachable', `Redis is unreachable: ${(err as Error).message}`), 503);
    }
  });

  app.get('/metrics', async (c) => {
    const lines = [...(await sharedLines(nodes)), ...(await queueLines(nodes)), ...(await nodeLines(nodes))];
    return c.text(lines.join('\n') + '\n' + (await httpMetrics.render()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });

  app.get('/v1/openapi.json', (c) => c.json(openApiDocument()));

  app.get('/v1/captures', read, (c) =>
    c.json({
      captures: [...captures.values()].map((d) => ({
        name: d.name,
        summary: d.summary,
        kind: d.kind,
        params: z.toJSONSchema(paramsSchema(d), { io: 'input', unrepresentable: 'any' }),
      })),
    }),
  );

  app.get('/v1/nodes', read, async (c) => c.json({ nodes: await nodes.live() }));

  return app;
}
