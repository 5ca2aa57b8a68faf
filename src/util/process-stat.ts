// /proc/PID/stat (and a thread's, /proc/PID/task/TID/stat), whose second
// field (the comm, in parentheses) may hold spaces and parentheses itself:
// the fields are read after its last ')'.
import { readText } from './read-text.js';

/**
 * A stat line's comm and the fields after it: fields[0] is field 3 (state), [1] field 4 (ppid), [11] and [12]
 * fields 14 and 15 (utime, stime), [16] field 19 (nice), [36] field 39 (the CPU it last ran on).
 */
export function parseStat(stat: string): { comm: string; fields: string[] } {
  const end = stat.lastIndexOf(')');
  return { comm: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
}

/** The stat fields after the comm of a process (its pid) or of a thread (its /proc/PID/task/TID directory); undefined when it is gone. */
export function statFields(process: number | string): string[] | undefined {
  const stat = readText(`${typeof process === 'number' ? `/proc/${process}` : process}/stat`);
  return stat ? parseStat(stat).fields : undefined;
}
