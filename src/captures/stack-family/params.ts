// Settings every stack capture takes for user-stack unwinding, and the sizes of
// its tables (how they go into the BPF object: configure.ts). Each costs memory
// or CPU, so each is a per-run setting with a safe default.
import { boolean, integer } from '../settings.js';

/** STACK_SNAPSHOT_MAX in bpf/common/stacks.h. */
export const SNAPSHOT_MAX_BYTES = 64 * 1024;

/** The unwinding settings, with a capture's own defaults for what it copies per sample. */
export function unwindSettings(defaults: { userStackBytes: number; snapshotBufferBytes: number }) {
  return {
    userStackBytes: integer(
      0,
      SNAPSHOT_MAX_BYTES,
      defaults.userStackBytes,
      'bytes of user stack copied per sample and unwound by CFI in user space (no frame pointers needed); 0: frame pointers only, walked in the kernel',
      { multipleOf: 1024 },
    ),
    maxDepth: integer(8, 1024, 256, 'most user frames unwound per stack'),
    jvmPerfMaps: boolean(
      true,
      "after the window, ask the JVMs sampled (JDK 17+) for their perf map (jcmd PID Compiler.perfmap, run as the JVM's user) so that their JIT frames are named; it leaves /tmp/perf-PID.map in the JVM's /tmp",
    ),
    snapshotBufferBytes: integer(
      64 * 1024,
      256 * 1024 * 1024,
      defaults.snapshotBufferBytes,
      'ring buffer for the stack copies (a power of two); past it samples are lost, and counted',
      { powerOfTwo: true },
    ),
  };
}

/**
 * The settings sizing a stack capture's two kernel tables: the stacks
 * themselves, and the rows counted against them (`rows` names what a row is,
 * `dropped` what is lost when the table is full).
 */
export function stackTableSettings(rows: string, dropped: string) {
  const entries = (describe: string) => integer(1024, 1_048_576, 16_384, describe);
  return {
    stackMapEntries: entries('distinct stacks kept in the kernel (~1 KiB each); past it stacks are lost (lostStacks)'),
    maxStacks: entries(`distinct ${rows} counted; past it ${dropped} are dropped (map_full)`),
  };
}
