// What the captures look at, from flags: `--pid/--comm/...` for `sherlock
// capture`, `--target-pid/--target-comm/...` for `sherlock run`. One parser,
// so both commands take and refuse the same things: the rules of the request
// schema the server uses (src/model/target.ts), checked by hand (no zod here:
// test/cli/target-flags.test.ts holds them to the schema).
import type { TargetSpec } from '../model/target.js';
import { MAX_TGIDS, TASK_COMM_MAX, UNIT_NAME, UNIT_RULE } from '../model/target-rules.js';
import { UsageError } from './usage-error.js';

/** The flags, without their prefix. */
export const TARGET_FLAGS = ['pid', 'comm', 'cgroup', 'unit', 'port', 'uid'] as const;

/** Repeated and comma-separated values as one list. */
export const flagList = (values: string[] | undefined) =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

/** The target from `values[prefix + flag]`; every mistake is a UsageError naming the flag as typed. */
export function targetFromFlags(values: Record<string, unknown>, prefix = ''): TargetSpec {
  const flag = (name: (typeof TARGET_FLAGS)[number]) => `--${prefix}${name}`;
  const text = (name: (typeof TARGET_FLAGS)[number]) => {
    const value = values[prefix + name];
    return value === undefined ? undefined : String(value);
  };
  const target: TargetSpec = {};
  const pids = flagList(values[`${prefix}pid`] as string[] | undefined);
  if (pids.length) {
    if (pids.length > MAX_TGIDS) throw new UsageError(`${flag('pid')} takes at most ${MAX_TGIDS} process ids, got ${pids.length}`);
    target.pid = pids.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag('pid')} takes positive process ids, got "${p}"`);
      return n;
    });
  }
  const comm = text('comm');
  if (comm !== undefined) {
    if (!comm || comm.length > TASK_COMM_MAX) throw new UsageError(`${flag('comm')} takes a command name of 1 to ${TASK_COMM_MAX} characters, got "${comm}"`);
    target.comm = comm;
  }
  const cgroup = text('cgroup');
  if (cgroup !== undefined) {
    if (!cgroup) throw new UsageError(`${flag('cgroup')} takes a cgroup v2 path, got ""`);
    target.cgroup = cgroup;
  }
  const unit = text('unit');
  if (unit !== undefined) {
    if (!UNIT_NAME.test(unit)) throw new UsageError(`${flag('unit')}: ${UNIT_RULE}, got "${unit}"`);
    target.unit = unit;
  }
  const port = text('port');
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag('port')} takes a TCP port 1-65535, got "${port}"`);
    target.port = n;
  }
  const uid = text('uid');
  if (uid !== undefined) {
    const n = Number(uid);
    if (uid === '' || !Number.isInteger(n) || n < 0 || n > 0xfffffffe) throw new UsageError(`${flag('uid')} takes a numeric user id, got "${uid}"`);
    target.uid = n;
  }
  return target;
}
