// A lease in Redis: one holder at a time for a named role (the reaper of all
// API replicas, the worker of one node name), held while renewed and free
// once its holder stops renewing (it died). The holder's host and pid are the
// value, so whoever is refused can say who holds it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from './connection.js';

/**
 * Takes the lease if it is free or already ours, and (re)sets its expiry.
 * KEYS[1] lease key. ARGV[1] holder (JSON), ARGV[2] time to live (ms).
 * Returns 1 when held by ARGV[1], else the current holder's value.
 */
const acquireOrRenew = `
local current = redis.call('GET', KEYS[1])
if not current or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return current`;

/**
 * Gives the lease up if it is still ours.
 * KEYS[1] lease key. ARGV[1] holder (JSON). Returns 1 if released, 0 if not ours.
 */
const release = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

export interface LeaseHolder {
  host: string;
  pid: number;
  /** When this holder first took it (ISO). */
  since: string;
  /** Tells two holders on one host and pid apart (two leases in one process). */
  token: string;
}

export type LeaseAttempt = { held: true } | { held: false; holder: LeaseHolder | undefined; expiresInMs: number };

export class Lease {
  readonly holder: LeaseHolder;
  private readonly value: string;

  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly ttlMs: number,
  ) {
    this.holder = { host: hostname(), pid: process.pid, since: new Date().toISOString(), token: randomUUID() };
    this.value = JSON.stringify(this.holder);
  }

  /** Takes or renews the lease; when someone else holds it, who and for how much longer. */
  async acquire(): Promise<LeaseAttempt> {
    const reply = (await this.redis.eval(acquireOrRenew, 1, this.key, this.value, this.ttlMs)) as number | string;
    if (reply === 1) return { held: true };
    const expiresInMs = await this.redis.pttl(this.key);
    return { held: false, holder: parseHolder(String(reply)), expiresInMs: Math.max(0, expiresInMs) };
  }

  async release(): Promise<boolean> {
    return (await this.redis.eval(release, 1, this.key, this.value)) === 1;
  }
}

function parseHolder(value: string): LeaseHolder | undefined {
  try {
    return JSON.parse(value) as LeaseHolder;
  } catch {
    return undefined;
  }
}

export function describeHolder(holder: LeaseHolder | undefined): string {
  return holder ? `pid ${holder.pid} on ${holder.host} (since ${holder.since})` : 'an unknown holder';
}
