// The host's dirty page cache (/proc/vmstat): written to but not yet on disk.
// Past its limit (vm.dirty_ratio or vm.dirty_bytes) the kernel pauses every
// writer in balance_dirty_pages until writeback catches up; an fsync, or a
// journal commit in ext4's ordered mode, waits behind the data queued before it.
import { keyedNumbers } from '../../cgroups/hierarchy.js';
import { pageSize } from '../../util/page-size.js';
import { readText } from '../../util/read-text.js';

export interface DirtyNow {
  dirtyBytes: number;
  writebackBytes: number;
  /** The kernel's current limit and background threshold (vm.dirty_ratio/bytes, vm.dirty_background_*), in bytes. */
  limitBytes: number;
  backgroundBytes: number;
  /** Pages dirtied and written back since boot, in bytes. */
  dirtiedBytes: number;
  writtenBytes: number;
}

/** What the window saw: the most dirty data at once, and how much was dirtied and written back. */
export interface DirtyWindow {
  maxDirtyBytes: number;
  maxWritebackBytes: number;
  limitBytes: number;
  backgroundBytes: number;
  dirtiedBytes: number;
  writtenBytes: number;
  /** "vm.dirty_ratio = 20 (% of available memory)", or "vm.dirty_bytes = 16777216". */
  setting: string;
}

export function dirtyNow(): DirtyNow | undefined {
  const text = readText('/proc/vmstat');
  if (!text) return undefined;
  const page = pageSize();
  const vmstat = keyedNumbers(text);
  const pages = (name: string) => (vmstat.get(name) ?? 0) * page;
  return {
    dirtyBytes: pages('nr_dirty'),
    writebackBytes: pages('nr_writeback'),
    limitBytes: pages('nr_dirty_threshold'),
    backgroundBytes: pages('nr_dirty_background_threshold'),
    dirtiedBytes: pages('nr_dirtied'),
    writtenBytes: pages('nr_written'),
  };
}

/** The setting that sets the limit: vm.dirty_bytes when non-zero, else vm.dirty_ratio. */
export function dirtySetting(): string {
  const bytes = Number(readText('/proc/sys/vm/dirty_bytes')?.trim() ?? 0);
  if (bytes > 0) return `vm.dirty_bytes = ${bytes}`;
  const ratio = readText('/proc/sys/vm/dirty_ratio')?.trim();
  return ratio ? `vm.dirty_ratio = ${ratio} (% of available memory)` : 'vm.dirty_ratio';
}

/** Keeps the largest dirty and writeback amounts seen, sampled at most every `everyMs`. */
export function dirtyTracker(everyMs = 250) {
  const first = dirtyNow();
  let last = first;
  let at = performance.now();
  let maxDirty = first?.dirtyBytes ?? 0;
  let maxWriteback = first?.writebackBytes ?? 0;
  const sample = () => {
    last = dirtyNow() ?? last;
    at = performance.now();
    maxDirty = Math.max(maxDirty, last?.dirtyBytes ?? 0);
    maxWriteback = Math.max(maxWriteback, last?.writebackBytes ?? 0);
  };
  return {
    poll() {
      if (performance.now() - at >= everyMs) sample();
    },
    end(): DirtyWindow | undefined {
      sample();
      if (!first || !last) return undefined;
      return {
        maxDirtyBytes: maxDirty,
        maxWritebackBytes: maxWriteback,
        limitBytes: last.limitBytes,
        backgroundBytes: last.backgroundBytes,
        dirtiedBytes: Math.max(0, last.dirtiedBytes - first.dirtiedBytes),
        writtenBytes: Math.max(0, last.writtenBytes - first.writtenBytes),
        setting: dirtySetting(),
      };
    },
  };
}
