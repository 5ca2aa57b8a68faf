// The state machine of a run and its nodes, one Lua script per transition
// family (as BullMQ does): each compares the current status before it writes
// and appends the transition's event to the run's stream in the same step, so
// a late or repeated writer (a worker reporting after the reaper failed its
// node, two reapers, two finalizers) changes nothing and emits nothing.
// Each touches only keys with the run's {runId} hash tag: fine on Redis Cluster.

/**
 * Moves one node from one of the allowed statuses to a new state; the first
 * node to start makes a queued run running.
 * KEYS[1] run hash, KEYS[2] run events stream.
 * ARGV[1] node name, ARGV[2] new node state (JSON), ARGV[3] allowed current
 * statuses (comma-separated), ARGV[4] event (JSON) or '' for none,
 * ARGV[5] events MAXLEN (approximate), ARGV[6] retention seconds, ARGV[7] now (ISO),
 * ARGV[8] '1' to refuse while the run has a cancel or a stop requested (a node's start).
 * Returns {1, previous status} when it moved, {0, current status} when refused
 * ('missing' when the run or node is unknown, 'requested' for ARGV[8]'s refusal).
 */
export const nodeTransition = `
local field = 'node:' .. ARGV[1]
local current = redis.call('HGET', KEYS[1], field)
if not current then return {0, 'missing'} end
if ARGV[8] == '1' then
  local requested = redis.call('HMGET', KEYS[1], 'cancelRequested', 'stopRequested')
  if requested[1] == '1' or requested[2] == '1' then return {0, 'requested'} end
end
local status = cjson.decode(current).status
local allowed = false
for s in string.gmatch(ARGV[3], '[^,]+') do
  if s == status then allowed = true end
end
if not allowed then return {0, status} end
redis.call('HSET', KEYS[1], field, ARGV[2])
if cjson.decode(ARGV[2]).status == 'running' and redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[7])
end
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'event', ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[6])
end
return {1, status}`;

/**
 * Settles a run's final status once every node is final: cancelled if a cancel
 * was requested, completed if all nodes completed, partial if some did (or were
 * cancelled), failed otherwise; emits run-finished with it. Final is final.
 * KEYS[1] run hash, KEYS[2] run events stream.
 * ARGV[1] finishedAt (ISO), ARGV[2] retention seconds, ARGV[3] events MAXLEN.
 * Returns the final status, or false when the run is already final or a node is not.
 */
export const finalizeRun = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status or status == 'completed' or status == 'partial' or status == 'failed' or status == 'cancelled' then
  return false
end
local fields = redis.call('HGETALL', KEYS[1])
local total, completed, cancelled = 0, 0, 0
for i = 1, #fields, 2 do
  if string.sub(fields[i], 1, 5) == 'node:' then
    local s = cjson.decode(fields[i + 1]).status
    if s ~= 'completed' and s ~= 'failed' and s ~= 'cancelled' then return false end
    total = total + 1
    if s == 'completed' then completed = completed + 1 end
    if s == 'cancelled' then cancelled = cancelled + 1 end
  end
end
local final = 'failed'
if redis.call('HGET', KEYS[1], 'cancelRequested') == '1' then final = 'cancelled'
elseif completed == total then final = 'completed'
elseif completed > 0 or cancelled > 0 then final = 'partial' end
redis.call('HSET', KEYS[1], 'status', final, 'finishedAt', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'event', cjson.encode({type = 'run-finished', status = final, time = ARGV[1]}))
redis.call('EXPIRE', KEYS[2], ARGV[2])
return final`;

/**
 * Lua functions for a script that writes new runs with other things (queue/flow-batch.ts):
 * storeNewRun(a, i, byTime) stores the run whose arguments (RunStore.newRunArgs: record key,
 * events key, id, created ms, first event, retention, events MAXLEN, field count, fields) start
 * at a[i], exactly as RunStore.createMany does; forgetRun removes such a run again (RunStore.forget).
 */
export const storeNewRunFunctions = `
local function storeNewRun(a, i, byTime)
  local runKey, eventsKey, id, createdMs, event, retention, eventsMax = a[i], a[i + 1], a[i + 2], a[i + 3], a[i + 4], a[i + 5], a[i + 6]
  local n = tonumber(a[i + 7])
  -- In slices: unpack is bounded by Lua's stack, and a run on thousands of nodes has a field each.
  for first = 1, n, 200 do
    local last = math.min(first + 199, n)
    local slice = {}
    for j = first, last do slice[#slice + 1] = a[i + 7 + j] end
    redis.call('HSET', runKey, unpack(slice))
  end
  redis.call('EXPIRE', runKey, retention)
  redis.call('ZADD', byTime, createdMs, id)
  if event ~= '' then
    redis.call('XADD', eventsKey, 'MAXLEN', '~', eventsMax, '*', 'event', event)
    redis.call('EXPIRE', eventsKey, retention)
  end
end
local function forgetRun(runKey, eventsKey, byTime, id)
  redis.call('DEL', runKey, eventsKey)
  redis.call('ZREM', byTime, id)
end
`;

/**
 * Appends one entry to a capped stream and renews the stream's expiry: one command, where
 * MULTI, XADD, EXPIRE and EXEC were four (and ioredis's transaction path) for every
 * capture going live on every node of a fan-out.
 * KEYS[1] the stream. ARGV[1] MAXLEN (approximate), ARGV[2] TTL seconds, ARGV[3] field, ARGV[4] value.
 */
export const appendCapped = `
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', ARGV[3], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[2])`;
