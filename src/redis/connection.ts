// ioredis connections as BullMQ wants them (no per-request retry limit, so
// blocking commands survive a Redis restart and reconnect).
import { Redis } from 'ioredis';

export type RedisClient = Redis;

export function connectRedis(url: string, name = 'sherlock'): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, connectionName: name, lazyConnect: false });
}
