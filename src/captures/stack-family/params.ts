// Options every stack capture takes for user-stack unwinding, and the sizes of
// its tables (how they go into the BPF object: configure.ts). Each costs memory
// or CPU, so each is a per-run option with a safe default.
import { z } from 'zod';

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
