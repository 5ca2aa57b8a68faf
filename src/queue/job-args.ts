// The arguments of BullMQ's addParentJob/addStandardJob scripts for a run's
// flow, built directly: FlowProducer builds a Job object per job, traces it,
// validates and re-encodes its options and records the call, ~15% of the API's
// CPU per submission. Byte for byte what BullMQ 6.7's FlowProducer sends (a test
// compares the two), for the flows Sherlock writes only: one parent and its
// direct children, with the options below; anything else is refused, not guessed.
import type { FlowJob } from 'bullmq';
import { pack } from './bullmq-pack.js';

const PREFIX = 'bull';
/** The job options the lean path encodes, with BullMQ's short names (optsEncodeMap). */
const OPTION_NAMES: Record<string, string> = {
  jobId: 'jobId',
  attempts: 'attempts',
  ignoreDependencyOnFailure: 'idof',
  removeOnComplete: 'removeOnComplete',
  removeOnFail: 'removeOnFail',
};

/**
 * Each script's KEYS: its queue's key prefix (`bull:<queue>:`) and these suffixes, in the order
 * BullMQ's addParentJobArgs/addStandardJobArgs list them. The batch script builds them itself
 * from the prefix: a run's EVALSHA then carries 2 key arguments for its jobs instead of 15.
 */
export const SCRIPT_KEY_SUFFIXES = {
  addParentJob: ['meta', 'id', 'delayed', 'waiting-children', 'completed', 'events'],
  addStandardJob: ['wait', 'paused', 'meta', 'id', 'completed', 'delayed', 'active', 'events', 'marker'],
} as const;
export type JobScript = keyof typeof SCRIPT_KEY_SUFFIXES;

export interface JobScriptCall {
  name: JobScript;
  /** The job's queue key prefix, `bull:<queue>:` (its KEYS are this and SCRIPT_KEY_SUFFIXES). */
  keyPrefix: string;
  /** ARGV: packed arguments, data (JSON), packed options. */
  args: [Buffer, string, Buffer];
}

/** The KEYS of a call, as BullMQ passes them. */
export const scriptKeys = (call: JobScriptCall): string[] => SCRIPT_KEY_SUFFIXES[call.name].map((suffix) => call.keyPrefix + suffix);

/** A queue's BullMQ key prefix, `bull:<queue>:`. */
export const queueKeyPrefix = (queueName: string) => `${PREFIX}:${queueName}:`;

/** Options as Job's constructor and optsAsJSON leave them: attempts first (default 0), then the node's, then parent. */
function encodedOptions(job: FlowJob, parent?: { id: string; queue: string }): Buffer {
  const opts: Record<string, unknown> = { attempts: 0 };
  for (const [name, value] of Object.entries(job.opts ?? {})) {
    const short = OPTION_NAMES[name];
    if (!short) throw new Error(`job option ${name} is not written by the lean flow path (src/queue/job-args.ts)`);
    if (value !== undefined) opts[short] = value;
  }
  if (parent) opts.parent = parent;
  return pack(opts);
}

function checkJobId(id: unknown): string {
  // Job.validateOptions' rules for custom ids.
  if (typeof id !== 'string' || !id) throw new Error('every job of a run flow needs its own jobId');
  if (`${parseInt(id, 10)}` === id) throw new Error(`job id ${id}: custom ids cannot be integers`);
  if (id.includes(':')) throw new Error(`job id ${id}: custom ids cannot contain ':'`);
  return id;
}

/**
 * The script calls FlowProducer.add would make for `flow` (its parent in waiting-children,
 * then each child), `timestamp` as the jobs' creation time (Date.now() in Job).
 */
export function flowScriptCalls(flow: FlowJob, timestamp: number): JobScriptCall[] {
  const parentId = checkJobId(flow.opts?.jobId);
  const pk = queueKeyPrefix(flow.queueName);
  const parentKey = pk + parentId;
  const parentDependenciesKey = `${parentKey}:dependencies`;
  const calls: JobScriptCall[] = [
    {
      name: 'addParentJob',
      keyPrefix: pk,
      args: [pack([pk, parentId, flow.name, timestamp, null, null, undefined, undefined, null, null]), JSON.stringify(flow.data ?? {}), encodedOptions(flow)],
    },
  ];
  const parentQueue = pk.slice(0, -1); // queue.qualifiedName: the prefix without its ':'
  for (const child of flow.children ?? []) {
    if (child.children?.length) throw new Error('run flows are one parent and its direct children');
    const id = checkJobId(child.opts?.jobId);
    const k = queueKeyPrefix(child.queueName);
    const parentLink = { id: parentId, queueKey: parentQueue, ...(child.opts?.ignoreDependencyOnFailure ? { idof: true } : {}) };
    calls.push({
      name: 'addStandardJob',
      keyPrefix: k,
      args: [
        pack([k, id, child.name, timestamp, parentKey, parentDependenciesKey, parentLink, undefined, null, null]),
        JSON.stringify(child.data ?? {}),
        encodedOptions(child, { id: parentId, queue: parentQueue }),
      ],
    });
  }
  return calls;
}
