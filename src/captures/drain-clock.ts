// One timer drains every running capture of this process, instead of a 10 ms
// interval each: a timer wakeup costs ~0.1 ms of CPU on a VM, so five idle
// captures took 5% of a core, and that CPU is taken beside the workload being
// watched (a 12%-duty neighbour made an exec storm's own CPU 7% higher here).
// The clock slows down while no ring buffer has records and is back at 10 ms
// at the first tick that finds some; a 4 MiB ring holds far more than what
// arrives in the slowest interval.
import { recordsDrained } from '../libbpf/index.js';

/** Between ticks while records arrive. */
export const BUSY_DRAIN_MS = 10;
/** The longest wait: what a record may wait after a quiet spell (live views, the CLI's lines). */
export const IDLE_DRAIN_MS = 80;

const ticks = new Set<() => void>();
let timer: NodeJS.Timeout | undefined;
let intervalMs = BUSY_DRAIN_MS;

/** Calls `tick` on every clock tick until the returned function is called. A tick must not throw. */
export function everyDrainTick(tick: () => void): () => void {
  ticks.add(tick);
  // A new capture's first records come soon: don't leave them to an idle interval.
  if (!timer || intervalMs > BUSY_DRAIN_MS) schedule(BUSY_DRAIN_MS);
  return () => {
    ticks.delete(tick);
    if (!ticks.size) stop();
  };
}

/** Whether the clock runs and its next interval (tests). */
export const drainClockState = (): { running: boolean; intervalMs: number } => ({ running: timer !== undefined, intervalMs });

function schedule(ms: number): void {
  // The same pace again re-arms the timer that just fired instead of making a new one.
  if (timer && ms === intervalMs) {
    timer.refresh();
    return;
  }
  clearTimeout(timer);
  intervalMs = ms;
  timer = setTimeout(runTicks, ms);
}

function stop(): void {
  clearTimeout(timer);
  timer = undefined;
}

function runTicks(): void {
  const before = recordsDrained();
  for (const tick of [...ticks]) if (ticks.has(tick)) tick(); // a tick may end another capture
  if (!ticks.size) return stop();
  schedule(recordsDrained() > before ? BUSY_DRAIN_MS : Math.min(IDLE_DRAIN_MS, intervalMs * 2));
}
