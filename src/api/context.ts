// What every route needs, passed in once by createApi (no globals), and the
// hono environment type that carries the caller's token.
import type { Redis } from 'ioredis';
import type { RunSubmitter } from '../queue/run-flow.js';
import type { RunbookCatalog } from '../runbooks/catalog.js';
import type { RunStore } from '../runs/store.js';
import type { ChatopsConfig } from '../triggers/chatops/config.js';
import type { HooksSettings } from '../triggers/hooks/settings.js';
import type { BodyLimits } from './read-body.js';
import type { Schedules } from '../schedules/scheduler.js';
import type { ChatFollowers } from '../triggers/chatops/followers.js';
import type { HttpMetrics } from './metrics.js';
import type { TokenRecord, TokenStore } from './tokens.js';

export interface ApiDeps {
  redis: Redis;
  /** Opens a dedicated connection (for blocking reads, e.g. SSE). */
  duplicateRedis(): Redis;
  store: RunStore;
  /** The runbooks this replica loaded (absent: runs name captures in steps only). */
  runbooks?: RunbookCatalog;
  submitter: RunSubmitter;
  tokens: TokenStore;
  httpMetrics: HttpMetrics;
  nodeQueueCounts(node: string): Promise<Record<string, number>>;
  /** Removes a node job still waiting in its queue; false if it already started or is gone. */
  removeWaitingNodeJob(runId: string, node: string): Promise<boolean>;
  /** 1-based position of a waiting node job in its queue, if it is waiting. */
  queuePosition(runId: string, node: string): Promise<number | undefined>;
  /** Slack/Mattermost slash commands (absent, or no secret: /v1/chatops/slack answers 404). */
  chatops?: ChatopsConfig;
  /** Incident-tool webhooks (absent: every /v1/hooks receiver answers 404). */
  hooks?: HooksSettings;
  /** Size and time limits of the bodies signed routes read (absent: DEFAULT_BODY_LIMITS). */
  bodyLimits?: BodyLimits;
  /** The schedules (absent: /v1/schedules answers 404). */
  schedules?: Schedules;
  /** Chat follow-ups running in the background; the API's shutdown stops them (absent: chatops keeps its own). */
  chatFollowers?: ChatFollowers;
}

export type ApiEnv = { Variables: { token: TokenRecord } };
