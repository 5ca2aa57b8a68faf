// A lease in Redis: one holder at a time for a named role (the reaper of all
// API replicas, the worker of one node name), held while renewed and free
// once its holder stops renewing (it died). The holder's host and pid are the
// value, so whoever is refused can say who holds it.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisClient } from './connection.js';
import { evalScript } from './scripts.js';

/**
 * Takes the lease if it is free or already ours, and (re)sets its expiry; else
 * returns the current holder's value. KEYS[1] lease key, ARGV[1] holder (JSON),
 * ARGV[2] time to live (ms). What a caller adds to the script runs only while held.
 */
const TAKE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])`;

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

/** Lua run in the same script as the lease, only while it is held: its keys follow the lease's (KEYS[2]...), its args the holder and TTL (ARGV[3]...). */
export interface WhileHeld {
  lua: string;
  keys: string[];
  args: (string | number)[];
}

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

  /**
   * Takes or renews the lease; when someone else holds it, who and for how much longer.
   * `whileHeld` writes what only the holder may, in the same script (one round trip).
   */
  async acquire(whileHeld?: WhileHeld): Promise<LeaseAttempt> {
    const script = `${TAKE}\n${whileHeld?.lua ?? ''}\nreturn 1`;
    const keys = [this.key, ...(whileHeld?.keys ?? [])];
    const reply = (await evalScript(this.redis, script, keys, [this.value, this.ttlMs, ...(whileHeld?.args ?? [])])) as number | string;
    if (reply === 1) return { held: true };
    const expiresInMs = await this.redis.pttl(this.key);
    return { held: false, holder: parseHolder(String(reply)), expiresInMs: Math.max(0, expiresInMs) };
  }

  async release(): Promise<boolean> {
    return (await evalScript(this.redis, release, [this.key], [this.value])) === 1;
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
