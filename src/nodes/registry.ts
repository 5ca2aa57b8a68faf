// Which workers are alive, from their heartbeats: a hash of the latest
// heartbeat per node and a sorted set by time, so "live" is one range query
// however many thousands of nodes share the Redis.
import type { RedisClient } from '../redis/connection.js';
import { evalScript } from '../redis/scripts.js';
import { processCpuUs } from '../util/process-cpu.js';
import { isValidNodeName, keys, NODE_NAME_RULE } from '../redis/keys.js';
import type { Lease, LeaseAttempt } from '../redis/lease.js';

export const HEARTBEAT_INTERVAL_MS = 5_000;
export const NODE_TTL_MS = 15_000;

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  kernel: string;
  btf: boolean;
  captures: string[];
  busy: boolean;
  currentRun?: string;
  lastSeen: string;
  version: string;
  /** The worker process as it last reported itself (the API's /metrics shows it: workers do not listen). */
  process?: WorkerProcess;
}

export interface WorkerProcess {
  cpuSeconds: number;
  residentBytes: number;
  heapUsedBytes: number;
  /** Unix seconds. */
  startTime: number;
}

/** This process's figures for its heartbeat. */
export function workerProcess(): WorkerProcess {
  return {
    cpuSeconds: processCpuUs() / 1e6,
    residentBytes: process.memoryUsage.rss(),
    heapUsedBytes: process.memoryUsage().heapUsed,
    startTime: Math.round(Date.now() / 1000 - process.uptime()),
  };
}

export async function publishHeartbeat(redis: RedisClient, info: Omit<NodeInfo, 'lastSeen'>, now = Date.now()): Promise<void> {
  const { record } = heartbeatRecord(info, now);
  await redis.multi().hset(keys.nodes, info.name, record).zadd(keys.nodesSeen, now, info.name).exec();
}

/**
 * A worker's heartbeat, written only while it holds its node name's lease (renewed by the same
 * script: one round trip, one script per beat, what thousands of idle workers cost Redis).
 */
export function heartbeatWhileHeld(lease: Lease, info: Omit<NodeInfo, 'lastSeen'>, now = Date.now()): Promise<LeaseAttempt> {
  const { record } = heartbeatRecord(info, now);
  return lease.acquire({
    lua: `redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])\nredis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])`,
    keys: [keys.nodes, keys.nodesSeen],
    args: [info.name, record, now],
  });
}

function heartbeatRecord(info: Omit<NodeInfo, 'lastSeen'>, now: number): { record: string } {
  if (!isValidNodeName(info.name)) throw new Error(`invalid node name "${info.name}": ${NODE_NAME_RULE}`);
  return { record: JSON.stringify({ ...info, lastSeen: new Date(now).toISOString() } satisfies NodeInfo) };
}

/** Says a node is gone at once (clean shutdown), instead of waiting for its TTL. */
export async function withdrawNode(redis: RedisClient, name: string): Promise<void> {
  await redis.multi().hdel(keys.nodes, name).zrem(keys.nodesSeen, name).exec();
}

/**
 * The heartbeats of the nodes seen since ARGV[1]: one visit to Redis, not a range query and then a
 * read (a busy API's submissions each wait their turn behind Redis's scripts; one wait, not two).
 * HMGET in slices: unpack is bounded by Lua's stack.
 */
const LIVE_HEARTBEATS = `local names = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local out = {}
for first = 1, #names, 1000 do
  local slice = {}
  for j = first, math.min(first + 999, #names) do slice[#slice + 1] = names[j] end
  local records = redis.call('HMGET', KEYS[2], unpack(slice))
  for j = 1, #records do out[#out + 1] = records[j] end
end
return out`;

export async function liveNodes(redis: RedisClient, now = Date.now()): Promise<NodeInfo[]> {
  const records = (await evalScript(redis, LIVE_HEARTBEATS, [keys.nodesSeen, keys.nodes], [now - NODE_TTL_MS])) as (string | null)[];
  // A heartbeat with a name no queue can have (written by hand, or by an old worker) is not a node.
  return records.flatMap((r) => parseHeartbeat(r)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Every node with a heartbeat still kept, live or not (silent ones stay until pruned), by name. */
export async function knownNodes(redis: RedisClient, now = Date.now()): Promise<(NodeInfo & { live: boolean })[]> {
  // Same guard as liveNodes: a heartbeat that does not parse, or names no valid node, is no node.
  const all = Object.values(await redis.hgetall(keys.nodes)).flatMap((r) => parseHeartbeat(r));
  return all.map((n) => ({ ...n, live: Date.parse(n.lastSeen) >= now - NODE_TTL_MS })).sort((a, b) => a.name.localeCompare(b.name));
}

/** Forgets nodes silent for longer than the TTL (their heartbeat hash entries too). */
export async function pruneStaleNodes(redis: RedisClient, now = Date.now()): Promise<string[]> {
  const stale = await redis.zrangebyscore(keys.nodesSeen, '-inf', `(${now - NODE_TTL_MS}`);
  if (stale.length)
    await redis
      .multi()
      .zrem(keys.nodesSeen, ...stale)
      .hdel(keys.nodes, ...stale)
      .exec();
  return stale;
}

function parseHeartbeat(text: string | null): NodeInfo[] {
  if (!text) return [];
  try {
    const info = JSON.parse(text) as NodeInfo;
    if (typeof info?.name !== 'string' || !isValidNodeName(info.name)) return [];
    return [
      { ...info, labels: typeof info.labels === 'object' && info.labels ? info.labels : {}, captures: Array.isArray(info.captures) ? info.captures : [] },
    ];
  } catch {
    return [];
  }
}
