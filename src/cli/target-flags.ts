// What the captures look at, from flags: `--pid/--comm/...` for `sherlock
// capture`, `--target-pid/--target-comm/...` for `sherlock run`. One parser,
// so both commands take and refuse the same things, checked finally against
// the request schema the server uses (src/model/target.ts).
import { targetSchema, type TargetSpec } from '../model/target.js';
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
    target.pid = pids.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`${flag('pid')} takes positive process ids, got "${p}"`);
      return n;
    });
  }
  const comm = text('comm');
  if (comm !== undefined) {
    if (!comm || comm.length > 15) throw new UsageError(`${flag('comm')} takes a command name of 1 to 15 characters, got "${comm}"`);
    target.comm = comm;
  }
  const cgroup = text('cgroup');
  if (cgroup !== undefined) target.cgroup = cgroup;
  const unit = text('unit');
  if (unit !== undefined) target.unit = unit;
  const port = text('port');
  if (port !== undefined) {
    const n = Number(port);
    if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`${flag('port')} takes a TCP port 1-65535, got "${port}"`);
    target.port = n;
  }
  const uid = text('uid');
  if (uid !== undefined) {
    const n = Number(uid);
    if (uid === '' || !Number.isInteger(n) || n < 0) throw new UsageError(`${flag('uid')} takes a numeric user id, got "${uid}"`);
    target.uid = n;
  }
  const checked = targetSchema.safeParse(target);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    throw new UsageError(`${flag(issue.path[0] as (typeof TARGET_FLAGS)[number])}: ${issue.message}`);
  }
  return checked.data;
}
