// /proc/stat's CPU lines: "cpu" (all CPUs) and "cpuN", each user nice system
// idle iowait irq softirq steal guest guest_nice, in USER_HZ ticks (guest is
// already inside user).

/** Each CPU line's counts by its label ("cpu", "cpu0", ...); a line with a count that is not a number is left out. */
export function cpuStatLines(text: string): Map<string, number[]> {
  const lines = new Map<string, number[]>();
  for (const line of text.split('\n')) {
    const m = /^(cpu\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const counts = m[2]!.trim().split(/\s+/).map(Number);
    if (counts.every(Number.isFinite)) lines.set(m[1]!, counts);
  }
  return lines;
}

/** The sum of user to steal: all time counted (guest is inside user). */
export const totalTicks = (counts: number[]) => counts.slice(0, 8).reduce((a, b) => a + b, 0);
