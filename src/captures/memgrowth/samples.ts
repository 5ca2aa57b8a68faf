// Every process's own memory, read from /proc/PID/statm: resident pages that
// are not file-backed or shared (anonymous memory: its heap, its stacks),
// what a leak grows. ~5 µs a process.
import { allPids } from '../target-processes.js';
import { readText } from '../../util/read-text.js';
import { pageSize } from '../../util/page-size.js';

/** pid → its anonymous resident bytes now. */
export function anonymousBytes(pids: number[] = allPids()): Map<number, number> {
  const page = pageSize();
  const found = new Map<number, number>();
  for (const pid of pids) {
    // size resident shared text lib data dt, in pages
    const fields = readText(`/proc/${pid}/statm`)?.split(' ');
    if (!fields || fields.length < 3) continue;
    const anon = Number(fields[1]) - Number(fields[2]);
    if (Number.isFinite(anon)) found.set(pid, Math.max(0, anon) * page);
  }
  return found;
}
