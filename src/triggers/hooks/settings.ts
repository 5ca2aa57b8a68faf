// What the hooks are configured with, from the environment, read once by the
// API process at start.
import { createLogger } from '../../util/logger.js';
import { loadHooksConfig, type ConfigResult } from './config.js';

const log = createLogger({ component: 'hooks' });

export interface HooksSettings {
  /** Bearer token Alertmanager sends (SHERLOCK_ALERTMANAGER_TOKEN); absent: the receiver is off (404). */
  alertmanagerToken?: string;
  /** SHERLOCK_PAGERDUTY_WEBHOOK_SECRET; absent: off. */
  pagerdutySecret?: string;
  /** X-Sherlock-Secret value (SHERLOCK_GENERIC_HOOK_SECRET); absent: off. */
  genericSecret?: string;
  /** The mapping rules, or why the file was refused (the hooks then answer 503). */
  config: ConfigResult;
  /** How long a delivery's idempotency key lives (seconds). */
  dedupTtlSeconds: number;
}

export const DEFAULT_DEDUP_TTL_SECONDS = 24 * 3600;

const nonEmpty = (value: string | undefined) => (value && value.trim() ? value.trim() : undefined);

export function hooksFromEnv(env: NodeJS.ProcessEnv = process.env): HooksSettings {
  const path = nonEmpty(env.SHERLOCK_HOOKS_CONFIG);
  const config: ConfigResult = path ? loadHooksConfig(path) : { ok: true, config: { rules: [] } };
  if (!config.ok) log.error('hooks config refused; the hooks answer 503 until it is fixed and the API restarted', { path, error: config.error });
  const alertmanagerToken = nonEmpty(env.SHERLOCK_ALERTMANAGER_TOKEN);
  const pagerdutySecret = nonEmpty(env.SHERLOCK_PAGERDUTY_WEBHOOK_SECRET);
  const genericSecret = nonEmpty(env.SHERLOCK_GENERIC_HOOK_SECRET);
  return {
    ...(alertmanagerToken ? { alertmanagerToken } : {}),
    ...(pagerdutySecret ? { pagerdutySecret } : {}),
    ...(genericSecret ? { genericSecret } : {}),
    config,
    dedupTtlSeconds: DEFAULT_DEDUP_TTL_SECONDS,
  };
}
