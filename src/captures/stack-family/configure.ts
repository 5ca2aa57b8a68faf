// How a stack capture's settings (params.ts) go into its BPF object
// (bpf/common/stacks.bpf.h): table sizes and the user-stack snapshots. Light
// (no schema), for the captures' setups that an idle worker's warm pool holds.
import { readFileSync } from 'node:fs';
import type { BpfObject } from '../../libbpf/index.js';

/** Sizes the stack table and the table of rows counted against it (`countsMap`). */
export function configureStackTables(object: BpfObject, countsMap: string, settings: { stackMapEntries: number; maxStacks: number }): void {
  object.setMaxEntries('stacks', settings.stackMapEntries);
  object.setMaxEntries(countsMap, settings.maxStacks);
}

export interface UnwindSettings {
  userStackBytes: number;
  maxDepth: number;
  snapshotBufferBytes: number;
}

let possibleCpus: number | undefined;

/** CPUs the kernel may run (0-N in /sys/devices/system/cpu/possible): one scratch record each. */
function possibleCpuCount(): number {
  if (possibleCpus === undefined) {
    const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
    possibleCpus = Math.max(...text.split(',').map((r) => Number(r.split('-').at(-1)))) + 1;
  }
  return possibleCpus;
}

/** Sets the snapshot size and sizes the snapshot maps (tiny when snapshots are off). */
export function configureUnwinding(object: BpfObject, settings: UnwindSettings): void {
  const on = settings.userStackBytes > 0;
  object.setRodata({ user_snapshot_bytes: settings.userStackBytes });
  object.setMaxEntries('snapshots', on ? settings.snapshotBufferBytes : 4096);
  object.setMaxEntries('snapshot_scratch', on ? possibleCpuCount() : 1);
}
