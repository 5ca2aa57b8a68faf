// What Sherlock itself costs on a node while a run's captures are live: the
// CPU of its own cgroup (worker, API, embedded Redis, their children), or of
// the worker process where it has no cgroup of its own, plus the kernel's
// count of time spent in its BPF programs. Reported beside the findings,
// never among them.
import type { CaptureSummary, SherlockCost } from '../model/run.js';
import { elapsedMs, monoNow } from '../util/clock.js';
import { processCpuUs } from '../util/process-cpu.js';
import type { OwnCgroup } from './own-cgroup.js';

export function startCostMeter(own: OwnCgroup | undefined) {
  const t0 = monoNow();
  const cgroupStart = own?.cpuUsageUs() ?? 0;
  const processStart = processCpuUs();
  return {
    stop(captures: CaptureSummary[]): SherlockCost {
      const wallMs = elapsedMs(t0);
      const bpfCpuMs = captures.reduce((n, c) => n + (c.bpfCpuNs || 0), 0) / 1e6;
      if (own) {
        return {
          cgroup: own.path,
          cpuMs: round((own.cpuUsageUs() - cgroupStart) / 1000),
          cpuScope: 'cgroup',
          wallMs: round(wallMs),
          bpfCpuMs: round(bpfCpuMs),
        };
      }
      return { cpuMs: round((processCpuUs() - processStart) / 1000), cpuScope: 'worker process', wallMs: round(wallMs), bpfCpuMs: round(bpfCpuMs) };
    },
  };
}

const round = (n: number) => Math.round(n * 10) / 10;
