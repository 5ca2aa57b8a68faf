// POST /v1/hooks/{alertmanager,pagerduty,generic}: incident tools start
// runbook runs. Each receiver is off (404) until its secret is configured;
// the sender is authenticated before the body is parsed.
import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { DomainError, Invalid, NotFound, Unauthenticated } from '../../core/errors.js';
import { addShared } from '../../redis/shared-metrics.js';
import { handleAlert, type AlertDeps, type AlertResult } from '../../triggers/hooks/dispatch.js';
import { alertmanagerAlerts, alertmanagerSchema, genericAlert, genericSchema, pagerdutyAlert, pagerdutySchema } from '../../triggers/hooks/payloads.js';
import type { HooksSettings } from '../../triggers/hooks/settings.js';
import { bearerMatches, pagerDutySignatureMatches, safeEqual } from '../../triggers/hooks/verify.js';
import type { ApiEnv } from '../env.js';
import { errorBody, statusOf, validationError } from '../errors.js';
import { readBodyWithin, type BodyLimits } from '../read-body.js';

const disabled = (name: string, variable: string, field: string) =>
  new NotFound('not_found', `the ${name} hook is not enabled on this server (set ${variable}, or ${field} in the config file)`);
const unauthorized = (message: string) => new Unauthenticated('unauthorized', message);

const rawBody = (c: Context, limits?: BodyLimits): Promise<Buffer> => readBodyWithin(c, limits);

function parse<S extends z.ZodType>(schema: S, raw: Buffer, what: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Invalid('invalid_json', 'the body is not valid JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw validationError(parsed.error, what);
  return parsed.data;
}

/** 202 with each alert's outcome; if every alert failed to start, the first failure's status. */
function answer(c: Context, results: AlertResult[]) {
  const runIds = results.flatMap((r) => (r.runId ? [r.runId] : []));
  const body = {
    started: results.filter((r) => r.status === 'started').length,
    matched: results.some((r) => r.matched),
    ...(runIds.length === 1 ? { runId: runIds[0] } : {}),
    results: results.map(({ error, ...r }) => (error ? { ...r, error: { status: statusOf(error), code: error.code, message: error.message } } : r)),
  };
  const failed = results.filter((r) => r.status === 'failed');
  if (failed.length && failed.length === results.length) {
    const e = failed[0]!.error!;
    return c.json(errorBody(e.code, e.message, body), statusOf(e));
  }
  return c.json(body, 202);
}

export interface HookRoutesOptions extends AlertDeps {
  /** Size and time limits of a signed body (absent: DEFAULT_BODY_LIMITS). */
  bodyLimits?: BodyLimits;
  /** Incident-tool webhooks (absent: every receiver answers 404). */
  hooks?: HooksSettings;
}

export function hookRoutes({ hooks, ...deps }: HookRoutesOptions) {
  const app = new Hono<ApiEnv>();
  const settings = () => hooks;
  // Deliveries by source and outcome: one per alert, or `rejected` (bad credentials or body).
  const counted = (source: string, handle: (c: Context) => Promise<{ reply: Response; results: AlertResult[] }>) => async (c: Context) => {
    try {
      const { reply, results } = await handle(c);
      await addShared(
        deps.redis,
        results.map((r) => ({ name: 'sherlock_hook_deliveries_total', labels: { source, outcome: r.status } })),
      );
      return reply;
    } catch (err) {
      if (err instanceof DomainError && !(err instanceof NotFound)) {
        await addShared(deps.redis, [{ name: 'sherlock_hook_deliveries_total', labels: { source, outcome: 'rejected' } }]);
      }
      throw err;
    }
  };

  app.post(
    '/alertmanager',
    counted('alertmanager', async (c) => {
      const s = settings();
      if (!s?.alertmanagerToken) throw disabled('Alertmanager', 'SHERLOCK_ALERTMANAGER_TOKEN', 'triggers.alertmanager.token');
      if (!bearerMatches(c.req.header('authorization'), s.alertmanagerToken)) {
        throw unauthorized('send the configured token: Authorization: Bearer <SHERLOCK_ALERTMANAGER_TOKEN>');
      }
      const config = s.config;
      const body = parse(alertmanagerSchema, await rawBody(c, deps.bodyLimits), 'Alertmanager webhook (version 4)');
      const actor = `alertmanager:${body.groupKey}`;
      const results: AlertResult[] = [];
      for (const alert of alertmanagerAlerts(body)) {
        // startsAt too: the same alert firing again after it resolved is a new incident.
        const key = `${body.groupKey}\n${alert.id}\n${alert.fields.startsAt ?? ''}`;
        results.push(await handleAlert(deps, config, alert, { key, actor, ttlSeconds: s.dedupTtlSeconds }));
      }
      return { reply: answer(c, results), results };
    }),
  );

  app.post(
    '/pagerduty',
    counted('pagerduty', async (c) => {
      const s = settings();
      if (!s?.pagerdutySecret) throw disabled('PagerDuty', 'SHERLOCK_PAGERDUTY_WEBHOOK_SECRET', 'triggers.pagerduty.webhookSecret');
      const raw = await rawBody(c, deps.bodyLimits);
      if (!pagerDutySignatureMatches(c.req.header('x-pagerduty-signature'), s.pagerdutySecret, raw)) {
        throw unauthorized('X-PagerDuty-Signature does not match the configured webhook secret');
      }
      const config = s.config;
      const body = parse(pagerdutySchema, raw, 'PagerDuty webhook (v3)');
      const alert = pagerdutyAlert(body);
      const result = await handleAlert(deps, config, alert, { key: body.event.id, actor: `pagerduty:${alert.id}`, ttlSeconds: s.dedupTtlSeconds });
      return { reply: answer(c, [result]), results: [result] };
    }),
  );

  app.post(
    '/generic',
    counted('generic', async (c) => {
      const s = settings();
      if (!s?.genericSecret) throw disabled('generic', 'SHERLOCK_GENERIC_HOOK_SECRET', 'triggers.generic.secret');
      if (!safeEqual(c.req.header('x-sherlock-secret') ?? '', s.genericSecret)) {
        throw unauthorized('send the configured secret in X-Sherlock-Secret');
      }
      const config = s.config;
      const body = parse(genericSchema, await rawBody(c, deps.bodyLimits), 'hook body');
      const alert = genericAlert(body);
      const result = await handleAlert(deps, config, alert, { key: body.id, actor: `hook:${body.id}`, ttlSeconds: s.dedupTtlSeconds });
      return { reply: answer(c, [result]), results: [result] };
    }),
  );

  return app;
}
