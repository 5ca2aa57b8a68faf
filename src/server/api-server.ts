// The API process: hono on node's HTTP server, the run finalizer, and the
// Redis connections they share. Any number of these may run side by side.
import { serve, type ServerType } from '@hono/node-server';
import { createApi } from '../api/app.js';
import { HttpMetrics } from '../api/metrics.js';
import { AuditLog } from '../core/audit.js';
import { createNodeService } from '../core/nodes.js';
import { createReportService, type ReportService } from '../core/reports.js';
import { createRunService } from '../core/runs.js';
import { createScheduleService } from '../core/schedules.js';
import { SessionStore } from '../core/sessions.js';
import { createConsole } from '../console/index.js';
import { followTokenRevocations } from '../core/token-revocations.js';
import { TokenStore } from '../core/tokens.js';
import { NodeQueues } from '../queue/node-queues.js';
import { RunSubmitter } from '../queue/run-flow.js';
import { ScheduleStore } from '../queue/schedules.js';
import { Redis } from 'ioredis';
import { connectRedis, settlesWithin, type RedisClient } from '../redis/connection.js';
import { migrateLegacyKeys } from '../redis/legacy-keys.js';
import { RunbookCatalog, defaultRunbooksDir } from '../runbooks/catalog.js';
import { formatLoadError } from '../runbooks/loader.js';
import { startFinalizer } from '../runs/finalizer.js';
import { RunEventHub } from '../core/run-event-hub.js';
import { RunStore } from '../runs/store.js';
import { startScheduler } from '../schedules/scheduler.js';
import { ChatFollowers } from '../triggers/chatops/followers.js';
import { loadTriggerSettings, type TriggerSettings } from '../triggers/settings.js';
import { createLogger } from '../util/logger.js';
import { loadLimitsFrom } from '../config/load-limits.js';
import { auditRetentionFrom } from '../config/audit-retention.js';
import { DEFAULT_STATE_DIR } from '../config/server-config.js';
import { startAuditRetention } from '../core/audit-retention.js';

const log = createLogger({ component: 'api' });

export interface ApiServerOptions {
  redisUrl: string;
  port: number;
  host: string;
  retentionSeconds: number;
  /** Where runbooks/*.yaml are read from: SHERLOCK_RUNBOOKS_DIR, else the project's runbooks/. */
  runbooksDir?: string;
  /** The catalog already loaded (the CLI loads it to check `triggers` against it); else loaded from runbooksDir. */
  runbooks?: RunbookCatalog;
  /** Trigger settings already read and checked (the CLI does so before starting anything). */
  triggers?: TriggerSettings;
  /** Else they are read here: the Sherlock config file, and the environment (default process.env) over it. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Where the audit archive goes unless the config file's `audit.archiveFile` says (default /var/lib/sherlock). */
  stateDir?: string;
}

export interface ApiServer {
  url: string;
  tokens: TokenStore;
  /** The runbooks this process loaded (POST /v1/runbooks/reload rereads them). */
  runbooks: RunbookCatalog;
  /** Chat commands' follow-ups (late answers, run followers) running now; stop() ends them. */
  chatFollowers: ChatFollowers;
  /** Report downloads: their slots and what drawing them held at most (ReportService.memory). */
  reports: ReportService;
  stop(): Promise<void>;
}

/** How long stop() waits for the finalizer and queues to close while Redis is unreachable. */
const STOP_GRACE_MS = 5_000;

/** Renames keys from before the {sherlock} hash tag (single Redis only); a refusal is logged, not fatal. */
async function moveLegacyKeys(redis: RedisClient): Promise<void> {
  if (!(redis instanceof Redis)) return;
  try {
    const moved = await migrateLegacyKeys(redis);
    if (moved) log.warn('renamed keys from before the {sherlock} hash tag', { keys: moved });
  } catch (err) {
    log.warn('could not rename keys from before the {sherlock} hash tag; their tokens, runs and schedules are not seen', {
      error: (err as Error).message,
    });
  }
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const runbooks = options.runbooks ?? RunbookCatalog.load(options.runbooksDir ?? defaultRunbooksDir());
  for (const error of runbooks.errors) log.warn('runbook not loaded', { error: formatLoadError(error) });
  // Checked before anything opens: bad trigger settings refuse the start (TriggerConfigError).
  const triggers = options.triggers ?? loadTriggerSettings({ configFile: options.configFile, env: options.env }, runbooks);
  // Every request of this process shares these two: batch their writes.
  const redis = connectRedis(options.redisUrl, 'sherlock-api', { autoPipelining: true });
  const bullConnection = connectRedis(options.redisUrl, 'sherlock-api-bullmq', { autoPipelining: true });
  await moveLegacyKeys(redis);
  const store = new RunStore(redis, { retentionSeconds: options.retentionSeconds });
  const submitter = new RunSubmitter(bullConnection, store);
  const tokens = new TokenStore(redis);
  const revocations = connectRedis(options.redisUrl, 'sherlock-api-revocations');
  const stopFollowingRevocations = await followTokenRevocations(revocations, tokens);
  const audit = new AuditLog(redis);
  const finalizer = startFinalizer(bullConnection, store);
  const queues = new NodeQueues(bullConnection);
  const duplicates = new Set<ReturnType<typeof connectRedis>>();
  const scheduleStore = new ScheduleStore(bullConnection);
  const chatFollowers = new ChatFollowers();

  const limits = loadLimitsFrom(options.configFile);
  const auditRetention = startAuditRetention(redis, auditRetentionFrom(options.configFile, options.stateDir ?? DEFAULT_STATE_DIR));
  const runs = createRunService({ redis, store, submitter, audit, queues, runbooks, limits });
  // Every SSE client of this process shares one blocking reader (src/core/run-event-hub.ts).
  const eventHub = new RunEventHub(() => {
    const dup = connectRedis(options.redisUrl, 'sherlock-api-events');
    dup.on('error', () => {}); // the blocking read retries after reconnecting; `redis` reports the outage
    duplicates.add(dup);
    dup.once('end', () => duplicates.delete(dup));
    return dup;
  }, redis);
  const reports = createReportService({
    redis,
    store,
    runs,
    audit,
    maxConcurrentDownloads: limits.maxConcurrentDownloads,
    parseBytes: limits.reportParseMiB * 1024 * 1024,
    spoolBytes: limits.reportSpoolMiB * 1024 * 1024,
  });
  const schedules = createScheduleService({ store: scheduleStore, audit, runbooks, minIntervalSeconds: limits.minScheduleIntervalSeconds });
  const nodes = createNodeService({ redis, queues });
  const app = createApi({
    redis,
    runEvents: { hub: eventHub, redis },
    runs,
    reports,
    schedules,
    nodes,
    tokens,
    audit,
    httpMetrics: new HttpMetrics(),
    runbooks,
    chatops: triggers.chatops,
    hooks: triggers.hooks,
    bodyLimits: triggers.bodyLimits,
    ...(triggers.reportLinks ? { reportLinks: triggers.reportLinks } : {}),
    chatFollowers,
  });
  app.route(
    '/',
    createConsole({ sessions: new SessionStore(redis, tokens), runs, reports, schedules, nodes, audit, runbooks, runEvents: { hub: eventHub, redis } }),
  );
  const scheduler = startScheduler({ connection: bullConnection, runs });

  // Everything above needs Redis to finish cleanly; if it is away, stop anyway.
  const release = async () => {
    // Before the connections go: a follower's poll may be waiting on a slow Redis. Bounded.
    if (!(await chatFollowers.stop())) log.warn('chat followers did not stop in time; stopping anyway');
    const done = await settlesWithin(
      (async () => {
        await finalizer.stop();
        await auditRetention.stop();
        await scheduler.close();
        await scheduleStore.close();
        await submitter.close();
        await queues.close();
      })(),
      STOP_GRACE_MS,
    );
    eventHub.close();
    stopFollowingRevocations();
    for (const connection of [...duplicates, revocations, bullConnection, redis]) connection.disconnect();
    if (!done) await settlesWithin(finalizer.stop(), 2_000);
  };

  let server: ServerType;
  try {
    server = await listen(app.fetch, options.port, options.host);
  } catch (err) {
    await release();
    throw err;
  }
  // Idle keep-alive sockets outlive a client's reuse (browsers, load balancers keep theirs ~60 s):
  // Node's 5 s default closes sockets just as clients send on them (ECONNRESET). close() still ends idle ones.
  if ('keepAliveTimeout' in server) {
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    tokens,
    runbooks,
    chatFollowers,
    reports,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      (server as import('node:http').Server).closeAllConnections?.(); // SSE clients hold theirs open
      await closed;
      await release();
    },
  };
}

/** The HTTP server listening; a port in use or not ours is an error that says so (not an unhandled 'error' event). */
function listen(fetch: Parameters<typeof serve>[0]['fetch'], port: number, host: string): Promise<ServerType> {
  return new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch, port, hostname: host }, () => {
      s.off('error', refused);
      resolve(s);
    });
    const refused = (err: NodeJS.ErrnoException) => {
      const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
      if (err.code === 'EADDRINUSE') reject(new Error(`${where} is already in use (another sherlock up or api?): stop it, or choose another port with --port`));
      else if (err.code === 'EACCES')
        reject(new Error(`${where} may not be listened on by this user (ports below 1024 need root or CAP_NET_BIND_SERVICE): choose another with --port`));
      else if (err.code === 'EADDRNOTAVAIL') reject(new Error(`${host} is not an address of this host: choose another with --host`));
      else reject(err);
    };
    s.once('error', refused);
  });
}
