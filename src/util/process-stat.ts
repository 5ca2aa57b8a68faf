// /proc/PID/stat, whose second field (the comm, in parentheses) may hold
// spaces and parentheses itself: the fields are read after its last ')'.
import { readText } from './read-text.js';

/** The fields after the comm: [0] is field 3 (state), [1] field 4 (ppid), [16] field 19 (nice); undefined when the process is gone. */
export function statFields(pid: number): string[] | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : undefined;
}
