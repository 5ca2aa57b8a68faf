// The kernel's page size, for counts the kernel keeps in pages (reclaim, memory cgroups).
import { readFileSync } from 'node:fs';

let known: number | undefined;

/** The kernel's page size, from this process's mappings (4 KiB when it cannot tell); read once. */
export function pageSize(): number {
  return (known ??= readPageSize());
}

function readPageSize(): number {
  try {
    const kb =
      /^KernelPageSize:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ??
      /^KernelPageSize:\s+(\d+) kB/m.exec(readFileSync('/proc/self/smaps', 'utf8').slice(0, 4096))?.[1];
    return kb ? Number(kb) * 1024 : 4096;
  } catch {
    return 4096;
  }
}
