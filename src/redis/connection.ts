// ioredis connections as BullMQ wants them (no per-request retry limit, so
// blocking commands survive a Redis restart and reconnect).
import { Redis } from 'ioredis';
import { createLogger } from '../util/logger.js';

export type RedisClient = Redis;

const log = createLogger({ component: 'redis' });

export function connectRedis(url: string, name = 'sherlock'): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
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
