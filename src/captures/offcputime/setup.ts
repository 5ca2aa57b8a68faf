// offcputime's setup: the task states and block times it counts, table sizes and user-stack snapshots.
// What the warm pool needs to keep its object loaded (index.ts adds the rest).
import type { BpfObject } from '../../libbpf/index.js';
import type { CaptureSetup } from '../capture.js';
import { configureStackTables, configureUnwinding } from '../stack-family/configure.js';

/** Task states as sched_switch reports them (prev_state), and the bit each has in the BPF filter. */
const STATE_BITS: Record<string, number> = {
  R: 0x100, // runnable: preempted or yielding
  S: 0x1, // interruptible sleep
  D: 0x2, // uninterruptible sleep (disk, locks)
  T: 0x4, // stopped
  t: 0x8, // traced
  X: 0x10, // dead
  Z: 0x20, // zombie
  P: 0x40, // parked
  I: 0x80, // idle kernel thread
};

export function stateMask(states: string): number {
  return [...new Set(states)].reduce((mask, letter) => mask | (STATE_BITS[letter] ?? 0), 0);
}

const defaults = {
  states: 'SD',
  minBlockUs: 1,
  maxBlockUs: 0,
  stackMapEntries: 16_384,
  maxStacks: 16_384,
  maxThreads: 16_384,
  maxProcesses: 8192,
  top: 20,
  userStackBytes: 8 * 1024,
  maxDepth: 256,
  snapshotBufferBytes: 8 * 1024 * 1024,
};

export const offcputimeSetup = {
  name: 'offcputime',
  bpfObject: true,
  defaults,
  configure(object: BpfObject, params: typeof defaults) {
    object.setRodata({
      min_block_us: params.minBlockUs,
      max_block_us: params.maxBlockUs,
      state_mask: stateMask(params.states),
    });
    configureStackTables(object, 'counts', params);
    object.setMaxEntries('starts', params.maxThreads);
    object.setMaxEntries('seen_tgids', params.maxProcesses);
    configureUnwinding(object, params);
  },
} satisfies CaptureSetup<typeof defaults>;
