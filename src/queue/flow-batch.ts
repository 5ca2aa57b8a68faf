// A batch of new runs in one script call: each run's record (as RunStore
// stores it) and then its BullMQ flow. BullMQ adds a flow as one script per
// job plus one per parent (releaseParentIfNoPendingDependencies), each its own
// EVALSHA with a dozen keys, and the records took a MULTI of five commands per
// run: most of the API's Redis work per submission. Here BullMQ's own
// addParentJob/addStandardJob scripts do the writing, called as Lua
// functions inside this one, with the arguments FlowProducer would send them
// (built directly, job-args.ts), so Redis stores exactly what FlowProducer would.
// The parent release is left out: it only matters when a child already
// existed and had completed, and node job ids are new (<run uuid>.<node>).
import { createRequire } from 'node:module';
import type { FlowJob } from 'bullmq';
import type { RedisClient } from '../redis/connection.js';
import { evalScript } from '../redis/scripts.js';
import { keys, RUNS_QUEUE } from '../redis/keys.js';
import { storeNewRunFunctions } from '../runs/scripts.js';
import { packStrings } from './pack-strings.js';
import { flowScriptCalls, queueKeyPrefix, SCRIPT_KEY_SUFFIXES, type JobScript } from './job-args.js';

type ScriptSource = { content: string; keys: number };
const bullScript = (file: string, name: string) =>
  (createRequire(import.meta.url)(`bullmq/dist/cjs/scripts/${file}.js`) as Record<string, ScriptSource>)[name]!;
const SCRIPTS: Record<JobScript, ScriptSource> = {
  addParentJob: bullScript('addParentJob-6', 'addParentJob'),
  addStandardJob: bullScript('addStandardJob-9', 'addStandardJob'),
};

/** The runs queue's finalize jobs waiting for their node jobs: the runs not yet finished. */
const RUNS_UNFINISHED = `${queueKeyPrefix(RUNS_QUEUE)}waiting-children`;

/**
 * KEYS[1]: the runs-by-time index (also routes the call on a cluster: every key shares its hash tag);
 * KEYS[2]: the runs queue's waiting-children set (its finalize jobs: the runs not yet finished).
 * ARGV: one per run, a msgpack array of strings (pack-strings.ts: ioredis encodes ~45 separate
 * arguments per run slower than that, and Redis unpacks them about as fast as it parses arguments):
 * its record's arguments (RunStore.newRunArgs); a stream ('' for none), a field
 * count and the fields of an entry to append (its audit entry); a hash key ('' for none) and
 * field to add 1 to (its runs-started counter); its queue caps (unfinished runs, jobs waiting
 * per node queue; 0 for none); its job count, then per job its BullMQ script name, its queue's
 * key prefix (the script's KEYS are built from it: job-args.ts) and its 3 arguments.
 * A run over a cap is refused before anything of it is written. The caps are read here, in the
 * write, so runs submitted together cannot all pass one earlier read of the counts.
 * Stores each run, appends its entry, adds its jobs, counts it; a run refused on the way is removed
 * again (its caller hears why), the others stay. Returns per run 'ok', {err = why}, or
 * {'busy', 'runs', unfinished} / {'busy', 'node', waiting of the first full queue, full queues' key prefixes...}.
 */
const BATCH_SCRIPT = [
  storeNewRunFunctions,
  ...Object.entries(SCRIPTS).map(([name, s]) => asLuaFunction(name, s.content)),
  `local scripts = { ${Object.keys(SCRIPTS)
    .map((n) => `${n} = ${n}`)
    .join(', ')} }
local suffixes = { ${Object.entries(SCRIPT_KEY_SUFFIXES)
    .map(([n, list]) => `${n} = { ${list.map((s) => `'${s}'`).join(', ')} }`)
    .join(', ')} }
local function why(res) return type(res) == 'table' and res.err or tostring(res) end
-- Nil, or why the run would go over a queue cap: its caps and job count are at a[at].
local function overCap(a, at)
  local maxRuns, maxPerNode = tonumber(a[at]), tonumber(a[at + 1])
  if maxRuns > 0 then
    local unfinished = redis.call('ZCARD', KEYS[2])
    if unfinished >= maxRuns then return { 'busy', 'runs', unfinished } end
  end
  if maxPerNode <= 0 then return nil end
  local full = { 'busy', 'node' }
  local i = at + 3
  for _ = 1, tonumber(a[at + 2]) do
    if a[i] == 'addStandardJob' then
      -- Sherlock sets no priorities or delays: a waiting node job is in its queue's wait list.
      local waiting = redis.call('LLEN', a[i + 1] .. 'wait')
      if waiting >= maxPerNode then
        if #full == 2 then full[3] = waiting end
        full[#full + 1] = a[i + 1]
      end
    end
    i = i + 5
  end
  if #full > 2 then return full end
  return nil
end
-- Stores one run (a: its unpacked argument) and adds its jobs: 'ok', {err = why}, or overCap's answer.
local function addRun(a)
  local i = 1
  local runKey, eventsKey, id = a[i], a[i + 1], a[i + 2]
  local entryAt = i + 8 + tonumber(a[i + 7])
  local stream, nfields = a[entryAt], tonumber(a[entryAt + 1])
  local busy = overCap(a, entryAt + 4 + nfields)
  if busy then return busy end
  local refused, entryId
  local stored, res = pcall(storeNewRun, a, i, KEYS[1])
  if not stored then refused = why(res) end
  i = entryAt
  -- The entry before the jobs: a stream refusing it must not leave jobs of a refused run behind.
  if not refused and stream ~= '' then
    local fields = {}
    for j = 1, nfields do fields[j] = a[i + 1 + j] end
    local ok, res = pcall(redis.call, 'XADD', stream, '*', unpack(fields))
    if ok then entryId = res else refused = why(res) end
  end
  i = i + 2 + nfields
  local counterKey, counterField = a[i], a[i + 1]
  i = i + 4 -- past the caps, checked first
  local jobs = tonumber(a[i])
  i = i + 1
  for _ = 1, jobs do
    local name, prefix = a[i], a[i + 1]
    if not refused then
      local k, list = {}, suffixes[name]
      for j = 1, #list do k[j] = prefix .. list[j] end
      local ok, res = pcall(scripts[name], k, { a[i + 2], a[i + 3], a[i + 4] })
      if not ok then refused = why(res)
      elseif type(res) == 'number' and res < 0 then refused = 'BullMQ refused a job on ' .. prefix .. ' (code ' .. res .. ')' end
    end
    i = i + 5
  end
  if refused then
    forgetRun(runKey, eventsKey, KEYS[1], id)
    if entryId then redis.call('XDEL', stream, entryId) end
    return { err = refused }
  end
  -- A metric never refuses a run.
  if counterKey ~= '' then pcall(redis.call, 'HINCRBYFLOAT', counterKey, counterField, 1) end
  return 'ok'
end
local results = {}
for r = 1, #ARGV do results[r] = addRun(cmsgpack.unpack(ARGV[r])) end
return results`,
].join('\n');

/**
 * A BullMQ script as a Lua function of (KEYS, ARGV). Its helper functions (the `-- Includes`
 * section, before the first top-level statement) are defined once per call of the batch
 * script, not once per job: ~45 closures per run was a third of the script's time in Redis.
 * A script laid out otherwise is wrapped whole (correct, slower).
 */
function asLuaFunction(name: string, content: string): string {
  const lines = content.split('\n');
  const includes = lines.findIndex((l) => /^-- Includes/.test(l));
  const body = lines.findIndex((l, i) => i > includes && /^[A-Za-z]/.test(l) && !/^(local function|function|end)\b/.test(l));
  if (includes < 0 || body < 0) return `local function ${name}(KEYS, ARGV)\n${content}\nend`;
  const header = lines.slice(0, includes).join('\n');
  return `local ${name}\ndo\nlocal rcall = redis.call\n${lines.slice(includes, body).join('\n')}\n${name} = function(KEYS, ARGV)\n${header}\n${lines.slice(body).join('\n')}\nend\nend`;
}

export interface RunWithFlow {
  /** The run's record as RunStore.newRunArgs gives it. */
  recordArgs: string[];
  /** Its BullMQ flow: the finalize parent and one child per node. */
  flow: FlowJob;
  /** A stream entry to append once the run is stored and queued (its audit entry). */
  entry?: { stream: string; fields: string[] };
  /** A hash field to add 1 to with it (its runs-started counter). */
  counter?: { key: string; field: string };
  /** Refuse the run (OverQueueCap) when this many runs are unfinished, or a node's queue has this many waiting. */
  caps?: QueueCaps;
}

export interface QueueCaps {
  maxQueuedRuns: number;
  maxQueuedRunsPerNode: number;
}

/** A run refused by a queue cap; nothing of it was written. */
export class OverQueueCap extends Error {
  constructor(
    readonly cap: 'runs' | 'node',
    /** Unfinished runs, or the jobs waiting in the first full node queue. */
    readonly count: number,
    /** The full node queues' key prefixes (job-args.ts' queueKeyPrefix). */
    readonly fullQueues: string[] = [],
  ) {
    super(cap === 'runs' ? `${count} runs are unfinished` : `${fullQueues.length} node queue(s) full, ${count} waiting`);
  }
}

/** One run as the batch script reads it (one msgpack array); `now` stamps its jobs. */
export function packRun({ recordArgs, flow, entry, counter, caps }: RunWithFlow, now: number): Buffer {
  const calls = flowScriptCalls(flow, now);
  // Strings only (and Buffers): the script reads every value as Redis would an argument.
  const args: (string | Buffer)[] = [...recordArgs, entry?.stream ?? '', String(entry?.fields.length ?? 0)];
  if (entry) for (const f of entry.fields) args.push(f);
  args.push(counter?.key ?? '', counter?.field ?? '', String(caps?.maxQueuedRuns ?? 0), String(caps?.maxQueuedRunsPerNode ?? 0), String(calls.length));
  for (const { name, keyPrefix, args: jobArgs } of calls) args.push(name, keyPrefix, ...jobArgs);
  return packStrings(args);
}

/** The script's answer for one run: stored and queued (undefined), or why not. */
function refusal(result: unknown): Error | undefined {
  if (result === 'ok') return undefined;
  if (result instanceof Error) return result;
  if (Array.isArray(result) && result[0] === 'busy')
    return new OverQueueCap(result[1] === 'runs' ? 'runs' : 'node', Number(result[2]), result.slice(3).map(String));
  return new Error('no reply for this run');
}

export class RunFlowWriter {
  constructor(private readonly redis: RedisClient) {}

  /** Stores every run and adds its flow in one script call; errors by run (index), a run not in the map was stored and queued. */
  addEach(runs: RunWithFlow[]): Promise<Map<number, Error>> {
    const now = Date.now();
    return this.addPacked(runs.map((run) => packRun(run, now)));
  }

  /** addEach for runs already packed (packRun): a caller packs each as it arrives, while an earlier batch is in Redis. */
  async addPacked(packed: Buffer[]): Promise<Map<number, Error>> {
    const results = (await evalScript(this.redis, BATCH_SCRIPT, [keys.runsByTime, RUNS_UNFINISHED], packed)) as unknown[];
    const refused = new Map<number, Error>();
    packed.forEach((_, i) => {
      const err = refusal(results[i]);
      if (err) refused.set(i, err);
    });
    return refused;
  }

  /** Nothing to close: the connection is the caller's. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
