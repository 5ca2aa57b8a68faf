// ioredis connections as BullMQ wants them (no per-request retry limit, so
// blocking commands survive a Redis restart and reconnect).
import { readFileSync } from 'node:fs';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { createLogger } from '../util/logger.js';
import { parseRedisTarget, type RedisTarget } from './target.js';

/** One Redis, a Sentinel-managed master, or a Redis Cluster: the same commands. */
export type RedisClient = Redis | Cluster;

const log = createLogger({ component: 'redis' });

/** What endBetweenAttempts() touches inside an ioredis client. */
interface ClientInternals {
  status: string;
  reconnectTimeout?: NodeJS.Timeout | null;
  manuallyClosing?: boolean;
  setStatus(status: string): void;
  flushQueue(error: Error): void;
}

// ioredis: disconnect() while waiting to reconnect (Redis down, or just back)
// clears the retry timer but never ends the client: no 'end' event, queued
// commands never settle. BullMQ's Worker.close() waits for that 'end', so
// stopping a worker or the API then hung forever. End such a client at once,
// as ioredis does for one that never connected. Applies to every client in
// the process, BullMQ's own connections included.
const disconnect = Redis.prototype.disconnect;
if (!(disconnect as { sherlockPatched?: boolean }).sherlockPatched) {
  const patched = function (this: Redis, reconnect = false) {
    const client = this as unknown as ClientInternals;
    const betweenAttempts = !reconnect && client.status === 'reconnecting' && Boolean(client.reconnectTimeout);
    disconnect.call(this, reconnect);
    if (betweenAttempts && client.status === 'reconnecting') {
      client.manuallyClosing = false;
      client.setStatus('end');
      client.flushQueue(new Error('Connection is closed.'));
    }
  };
  Redis.prototype.disconnect = Object.assign(patched, { sherlockPatched: true });
}

const FAILOVER_RETRY_MS = 200;

export interface ConnectOptions {
  /**
   * Commands issued in the same tick leave in one socket write (ioredis auto-pipelining):
   * for the API's busy shared connections, where a write per command costs more CPU than
   * the command. Not for blocking readers.
   */
  autoPipelining?: boolean;
}

/** Connects to REDIS_URL in any of its forms (src/redis/target.ts). */
export function connectRedis(url: string, name = 'sherlock', options: ConnectOptions = {}): RedisClient {
  const redis = openClient(parseRedisTarget(url), name, options);
  // Without a listener ioredis prints a stack trace for every failed reconnect
  // attempt: say it once per outage instead.
  let down = false;
  redis.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn('Redis connection lost; reconnecting', { connection: name, error: err.message });
  });
  redis.on('ready', () => {
    if (!down) return;
    down = false;
    log.warn('Redis connection back', { connection: name });
  });
  return redis;
}

function openClient(target: RedisTarget, name: string, options: ConnectOptions): RedisClient {
  const common: RedisOptions = {
    maxRetriesPerRequest: null,
    connectionName: name,
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    ...(target.username ? { username: target.username } : {}),
    ...(target.password ? { password: target.password } : {}),
  };
  if (target.kind === 'single') return new Redis(target.url, { ...common, lazyConnect: false, ...tlsOptions(target.url) });
  const tls = target.tls ? tlsFor(undefined) : {};
  if (target.kind === 'sentinel') {
    return new Redis({
      ...common,
      ...tls,
      sentinels: target.sentinels,
      name: target.masterName,
      ...(target.sentinelUsername ? { sentinelUsername: target.sentinelUsername } : {}),
      ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
      ...(target.tls ? { enableTLSForSentinelMode: true, sentinelTLS: tls.tls } : {}),
      // After a failover the old master may answer as a replica for a moment: ask the sentinels again.
      reconnectOnError: (err) => err.message.startsWith('READONLY'),
    });
  }
  // Cluster: commands follow MOVED/ASK; the blocking reads of BullMQ and the SSE hub are
  // re-sent to the slot's new master after a failover. Slots are re-read every 5 s too.
  return new Cluster(target.nodes, {
    redisOptions: { ...common, ...tls },
    ...(options.autoPipelining ? { enableAutoPipelining: true } : {}),
    slotsRefreshInterval: 5_000,
    // Ride out a failover (cluster-node-timeout, 15 s by default, plus the election) instead of
    // failing each command after ioredis' default 1.6 s: retry every 200 ms for up to 24 s.
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnTryAgain: FAILOVER_RETRY_MS,
    maxRedirections: 120,
    ...(target.tls ? { dnsLookup: (address, callback) => callback(null, address) } : {}),
  });
}

/** TLS options for a multi-host target: the CA from SHERLOCK_REDIS_CA_FILE, host names checked per node. */
function tlsFor(servername: string | undefined, env: NodeJS.ProcessEnv = process.env): Pick<RedisOptions, 'tls'> {
  const caFile = env.SHERLOCK_REDIS_CA_FILE?.trim();
  return { tls: { ...(caFile ? { ca: readFileSync(caFile) } : {}), ...(servername ? { servername } : {}) } };
}

/**
 * rediss:// is TLS; SHERLOCK_REDIS_CA_FILE names the CA that signed the
 * server's certificate (else the system's CAs). The host name is verified.
 */
export function tlsOptions(url: string, env: NodeJS.ProcessEnv = process.env): Pick<RedisOptions, 'tls'> {
  if (!url.startsWith('rediss://')) return {};
  return tlsFor(new URL(url).hostname, env);
}

/** Redis is away or failing over (not a bad command): worth a 503 and a retry, not a 500. */
export function isRedisUnavailable(err: unknown): boolean {
  const e = err as { name?: string; message?: string } | undefined;
  if (!e?.message) return false;
  if (e.name === 'ClusterAllFailedError' || e.name === 'MaxRetriesPerRequestError') return true;
  return /^(CLUSTERDOWN|TRYAGAIN|MASTERDOWN|LOADING|READONLY)\b|Connection is closed|Too many Cluster redirections|ECONNREFUSED|ECONNRESET|Stream isn't writeable/.test(
    e.message,
  );
}

/** Waits for `promise` at most `ms`; true if it settled (either way) in time. Shutdown steps that need Redis use it. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = promise.then(
    () => true,
    () => true,
  );
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
