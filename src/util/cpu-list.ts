// The kernel's CPU list format ("0-3,6"), as in /sys/devices/system/cpu/online
// and /proc/PID/status Cpus_allowed_list.

/** CPU numbers of a list; [] for an empty or malformed one. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const range of text.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(range.trim());
    if (!m) return [];
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65_536) return [];
    for (let cpu = lo; cpu <= hi; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** The list for some CPUs, ranges joined: [0,1,2,3,6] → "0-3,6". */
export function formatCpuList(cpus: number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    ranges.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return ranges.join(',');
}
