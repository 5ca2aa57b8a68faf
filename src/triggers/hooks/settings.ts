// What the hooks are configured with: built once at API start from the
// config file and the environment (src/config/triggers.ts), already checked.
import type { HooksConfig } from './config.js';

export interface HooksSettings {
  /** Bearer token Alertmanager sends; absent: the receiver is off (404). */
  alertmanagerToken?: string;
  /** PagerDuty's webhook signing secret; absent: off. */
  pagerdutySecret?: string;
  /** The X-Sherlock-Secret value of the generic hook; absent: off. */
  genericSecret?: string;
  /** The mapping rules, validated against the runbook catalog. */
  config: HooksConfig;
  /** How long a delivery's idempotency key lives (seconds). */
  dedupTtlSeconds: number;
}

export const DEFAULT_DEDUP_TTL_SECONDS = 24 * 3600;
