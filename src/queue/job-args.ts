// The arguments of BullMQ's addParentJob/addStandardJob scripts for a run's
// flow, built directly: FlowProducer builds a Job object per job, traces it,
// validates and re-encodes its options and records the call, ~15% of the API's
// CPU per submission. Byte for byte what BullMQ 6.7's FlowProducer sends (a test
// compares the two), for the flows Sherlock writes only: one parent and its
// direct children, with the options below; anything else is refused, not guessed.
import { QueueKeys, type FlowJob } from 'bullmq';
import { Packr } from 'msgpackr';

/** BullMQ's own packer settings (redis-queue-backend.js): the scripts read these bytes with cmsgpack. */
const packer = new Packr({ useRecords: false, encodeUndefinedAsNil: true });
const PREFIX = 'bull';
/** The job options the lean path encodes, with BullMQ's short names (optsEncodeMap). */
const OPTION_NAMES: Record<string, string> = {
  jobId: 'jobId',
  attempts: 'attempts',
  ignoreDependencyOnFailure: 'idof',
  removeOnComplete: 'removeOnComplete',
  removeOnFail: 'removeOnFail',
};

export type JobScript = 'addParentJob' | 'addStandardJob';
export interface JobScriptCall {
  name: JobScript;
  args: (string | Buffer)[];
}

const queueKeys = new Map<string, Record<string, string>>();
/** A queue's key names, built once per queue (bounded: a fleet has a queue per node). */
function keysOf(queueName: string): Record<string, string> {
  let k = queueKeys.get(queueName);
  if (!k) {
    if (queueKeys.size > 100_000) queueKeys.clear();
    queueKeys.set(queueName, (k = new QueueKeys(PREFIX).getKeys(queueName)));
  }
  return k;
}

/** Options as Job's constructor and optsAsJSON leave them: attempts first (default 0), then the node's, then parent. */
function encodedOptions(job: FlowJob, parent?: { id: string; queue: string }): Buffer {
  const opts: Record<string, unknown> = { attempts: 0 };
  for (const [name, value] of Object.entries(job.opts ?? {})) {
    const short = OPTION_NAMES[name];
    if (!short) throw new Error(`job option ${name} is not written by the lean flow path (src/queue/job-args.ts)`);
    if (value !== undefined) opts[short] = value;
  }
  if (parent) opts.parent = parent;
  return packer.pack(opts);
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
  const pk = keysOf(flow.queueName);
  const parentKey = `${pk['']}${parentId}`;
  const parentDependenciesKey = `${parentKey}:dependencies`;
  const calls: JobScriptCall[] = [
    {
      name: 'addParentJob',
      args: [
        pk.meta!,
        pk.id!,
        pk.delayed!,
        pk['waiting-children']!,
        pk.completed!,
        pk.events!,
        packer.pack([pk[''], parentId, flow.name, timestamp, null, null, undefined, undefined, null, null]),
        JSON.stringify(flow.data ?? {}),
        encodedOptions(flow),
      ],
    },
  ];
  const parentQueue = pk['']!.slice(0, -1); // queue.qualifiedName: the prefix without its ':'
  for (const child of flow.children ?? []) {
    if (child.children?.length) throw new Error('run flows are one parent and its direct children');
    const id = checkJobId(child.opts?.jobId);
    const k = keysOf(child.queueName);
    const parentLink = { id: parentId, queueKey: parentQueue, ...(child.opts?.ignoreDependencyOnFailure ? { idof: true } : {}) };
    calls.push({
      name: 'addStandardJob',
      args: [
        k.wait!,
        k.paused!,
        k.meta!,
        k.id!,
        k.completed!,
        k.delayed!,
        k.active!,
        k.events!,
        k.marker!,
        packer.pack([k[''], id, child.name, timestamp, parentKey, parentDependenciesKey, parentLink, undefined, null, null]),
        JSON.stringify(child.data ?? {}),
        encodedOptions(child, { id: parentId, queue: parentQueue }),
      ],
    });
  }
  return calls;
}
