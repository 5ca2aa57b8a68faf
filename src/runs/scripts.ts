// The atomic updates of a run record, one Lua script each (as BullMQ does).
// Each touches only the run's own hash, so they work on Redis Cluster too.

/**
 * Marks a run running when its first node starts.
 * KEYS[1] run hash. ARGV[1] startedAt (ISO). Returns 1 if it changed the status.
 */
export const markRunning = `
if redis.call('HGET', KEYS[1], 'status') == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'running', 'startedAt', ARGV[1])
  return 1
end
return 0`;

/**
 * Settles a run's final status once every node is final: cancelled if a cancel
 * was requested, completed if all nodes completed, partial if some did (or were
 * cancelled), failed otherwise.
 * KEYS[1] run hash. ARGV[1] finishedAt (ISO), ARGV[2] retention seconds.
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
return final`;
