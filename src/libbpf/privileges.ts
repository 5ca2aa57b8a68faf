// Which capabilities this process lacks for loading and attaching tracing
// programs, read from /proc/self/status, so we can say so before trying.
import { readFileSync } from 'node:fs';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

function effectiveCapabilities(): bigint {
  const status = readFileSync('/proc/self/status', 'utf8');
  const hex = /^CapEff:\s+([0-9a-f]+)/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

const has = (caps: bigint, cap: bigint) => (caps & (1n << cap)) !== 0n;

/** Missing capability names; [] when captures can run (root, or CAP_BPF+CAP_PERFMON). */
export function missingTracingCapabilities(): string[] {
  const caps = effectiveCapabilities();
  if (has(caps, CAP_SYS_ADMIN)) return [];
  return [...(has(caps, CAP_BPF) ? [] : ['CAP_BPF']), ...(has(caps, CAP_PERFMON) ? [] : ['CAP_PERFMON'])];
}
