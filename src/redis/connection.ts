// ioredis connections as BullMQ wants them (no per-request retry limit, so
// blocking commands survive a Redis restart and reconnect).
import { readFileSync } from 'node:fs';
import { Redis, type RedisOptions } from 'ioredis';
import { createLogger } from '../util/logger.js';

export type RedisClient = Redis;

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

export function connectRedis(url: string, name = 'sherlock'): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false, ...tlsOptions(url) });
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

/**
 * rediss:// is TLS; SHERLOCK_REDIS_CA_FILE names the CA that signed the
 * server's certificate (else the system's CAs). The host name is verified.
 */
export function tlsOptions(url: string, env: NodeJS.ProcessEnv = process.env): Pick<RedisOptions, 'tls'> {
  if (!url.startsWith('rediss://')) return {};
  const caFile = env.SHERLOCK_REDIS_CA_FILE?.trim();
  return { tls: { ...(caFile ? { ca: readFileSync(caFile) } : {}), servername: new URL(url).hostname } };
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
