// Options every stack capture takes for user-stack unwinding, and how they
// go into the BPF object (bpf/common/stacks.bpf.h). Each costs memory or CPU,
// so each is a per-run option with a safe default.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { BpfObject } from '../../libbpf/index.js';

/** STACK_SNAPSHOT_MAX in bpf/common/stacks.h. */
export const SNAPSHOT_MAX_BYTES = 64 * 1024;

/** The zod fields, with a capture's own defaults for what it copies per sample. */
export function unwindParams(defaults: { userStackBytes: number; snapshotBufferBytes: number }) {
  return {
    userStackBytes: z
      .number()
      .int()
      .min(0)
      .max(SNAPSHOT_MAX_BYTES)
      .multipleOf(1024)
      .default(defaults.userStackBytes)
      .describe(
        'bytes of user stack copied per sample and unwound by CFI in user space (no frame pointers needed); 0: frame pointers only, walked in the kernel',
      ),
    maxDepth: z.number().int().min(8).max(1024).default(256).describe('most user frames unwound per stack'),
    snapshotBufferBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024)
      .refine((n) => (n & (n - 1)) === 0, 'a power of two')
      .default(defaults.snapshotBufferBytes)
      .describe('ring buffer for the stack copies (a power of two); past it samples are lost, and counted'),
  };
}

/**
 * The zod fields sizing a stack capture's two kernel tables: the stacks
 * themselves, and the rows counted against them (`rows` names what a row is,
 * `dropped` what is lost when the table is full).
 */
export function stackTableParams(rows: string, dropped: string) {
  const entries = (describe: string) => z.number().int().min(1024).max(1_048_576).default(16_384).describe(describe);
  return {
    stackMapEntries: entries('distinct stacks kept in the kernel (~1 KiB each); past it stacks are lost (lostStacks)'),
    maxStacks: entries(`distinct ${rows} counted; past it ${dropped} are dropped (map_full)`),
  };
}

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
