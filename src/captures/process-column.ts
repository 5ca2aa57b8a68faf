// The PROCESSES column of a cgroup's row (cputhrottle, iothrottle): the
// first three as comm(pid), and how many more.
import type { Column } from './capture.js';

interface WithProcesses {
  processes: { pid: number; comm: string }[];
  processCount: number;
}

export const processesColumn = <R extends WithProcesses>(): Column<R> => ({
  header: 'PROCESSES',
  value: (r) =>
    r.processes
      .slice(0, 3)
      .map((p) => `${p.comm}(${p.pid})`)
      .join(' ') + (r.processCount > 3 ? ` +${r.processCount - 3}` : ''),
});
