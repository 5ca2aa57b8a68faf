// One alert → at most one run: resolved alerts start nothing, unmatched ones
// are audited, and a delivery the sender retries finds its idempotency key
// (SET NX in Redis, holding the run id) and gets the same run back.
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../redis/connection.js';
import type { AuditLog } from '../../core/audit.js';
import { DomainError, Unprocessable } from '../../core/errors.js';
import type { RunService } from '../../core/runs.js';
import type { HooksConfig } from './config.js';
import { buildRunRequest, findRule, MappingError, type HookAlert } from './mapping.js';
import { nodeFromLabels } from './node-labels.js';
import { liveNodes } from '../../nodes/registry.js';
import { keys } from '../../redis/keys.js';

export interface AlertResult {
  alert: string;
  status: 'resolved' | 'unmatched' | 'started' | 'duplicate' | 'failed';
  matched: boolean;
  rule?: string;
  runId?: string;
  /** Why the run did not start: the core's refusal, or the rule's mapping (Unprocessable). */
  error?: DomainError;
}

/** What turning alerts into runs needs. */
export interface AlertDeps {
  /** Holds the delivery keys that make a retried delivery find its run. */
  redis: RedisClient;
  runs: Pick<RunService, 'start'>;
  audit: AuditLog;
}

const PENDING = 'pending';
/** A duplicate arriving while the first delivery is still starting its run waits this long for the id. */
const PENDING_WAIT_MS = 5_000;
const PENDING_POLL_MS = 50;

export const dedupKey = (tool: string, key: string) => keys.hookDelivery(tool, createHash('sha256').update(key).digest('hex'));

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function handleAlert(
  deps: AlertDeps,
  config: HooksConfig,
  alert: HookAlert,
  delivery: { key: string; actor: string; ttlSeconds: number },
): Promise<AlertResult> {
  const origin = { tool: alert.tool, alert: alert.id, ...(alert.url ? { url: alert.url } : {}) };
  if (!alert.firing) return { alert: alert.id, status: 'resolved', matched: false };
  const found = findRule(config, alert);
  if (!found) {
    await deps.audit.record({
      actor: delivery.actor,
      action: 'hook.unmatched',
      subject: alert.id,
      details: { ...origin, ...(alert.title ? { title: alert.title } : {}), labels: alert.labels, fields: alert.fields },
    });
    return { alert: alert.id, status: 'unmatched', matched: false };
  }
  const rule = found.rule.name ?? `rules.${found.index}`;
  const key = dedupKey(alert.tool, delivery.key);
  const claimed = await deps.redis.set(key, PENDING, 'EX', delivery.ttlSeconds, 'NX');
  if (claimed !== 'OK') {
    let runId = await deps.redis.get(key);
    for (let waited = 0; runId === PENDING && waited < PENDING_WAIT_MS; waited += PENDING_POLL_MS) {
      await sleep(PENDING_POLL_MS);
      runId = await deps.redis.get(key);
    }
    if (runId && runId !== PENDING) return { alert: alert.id, status: 'duplicate', matched: true, rule, runId };
    if (runId === PENDING) return { alert: alert.id, status: 'duplicate', matched: true, rule }; // still starting elsewhere
    // The key expired or the first attempt failed meanwhile: start it now (bounded: one retry).
    if ((await deps.redis.set(key, PENDING, 'EX', delivery.ttlSeconds, 'NX')) !== 'OK') return { alert: alert.id, status: 'duplicate', matched: true, rule };
  }
  try {
    const live = found.rule.nodes === undefined ? (await liveNodes(deps.redis)).map((n) => n.name) : [];
    const body = buildRunRequest(found.rule, alert, () => nodeFromLabels(alert, config.nodeLabels, live));
    const run = await deps.runs.start(body, { actor: delivery.actor, origin: { ...origin, rule } });
    await deps.redis.set(key, run.id, 'EX', delivery.ttlSeconds);
    return { alert: alert.id, status: 'started', matched: true, rule, runId: run.id };
  } catch (err) {
    await deps.redis.del(key); // so the sender's retry can try again
    if (!(err instanceof DomainError) && !(err instanceof MappingError)) throw err;
    const error = err instanceof DomainError ? err : new Unprocessable('mapping_failed', `rule ${rule}: ${err.message}`);
    await deps.audit.record({
      actor: delivery.actor,
      action: 'hook.failed',
      subject: alert.id,
      details: { ...origin, rule, error: { kind: error.name, code: error.code, message: error.message } },
    });
    return { alert: alert.id, status: 'failed', matched: true, rule, error };
  }
}
