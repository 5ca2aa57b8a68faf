// A compacting full garbage collection, for a process gone idle (a worker once its
// warm pool is ready, and after each run). Start-up leaves ~8 MiB of garbage and
// half-empty pages in V8's old space; V8's memory reducer gives them back only 8 s
// after some major GC, and an idle worker often had none, so it kept them. Node
// has no call for this: `gc` is taken from a fresh context once --expose-gc is on
// (as jest's --logHeapUsage does), which leaves the main context's globals alone.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/** Collects and compacts the whole heap now (tens of ms on the event loop), so emptied pages go back to the kernel. */
export function compactHeap(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    setFlagsFromString('--no-compact-on-every-full-gc');
  }
}
