// One timer drains every running capture of this process, instead of a 10 ms
// interval each: a timer wakeup costs ~0.1 ms of CPU on a VM, and that CPU is
// taken beside the workload being watched (a 12%-duty neighbour made an exec
// storm's own CPU 7% higher here). The pace follows how full the fullest ring
// was when drained: it ticks as slowly as keeps every ring at about
// TARGET_FILL (so a storm into a large ring is drained in large batches, at
// the idle pace), faster as rings fill, and slows down while nothing arrives.
import { takeFullestFill } from '../libbpf/index.js';

/** The fastest pace: a ring filling faster than this keeps up with needs a larger ring. */
export const BUSY_DRAIN_MS = 10;
/** The slowest pace: what a record may wait (live views, the CLI's lines). */
export const IDLE_DRAIN_MS = 80;
/** How full a ring may get between two ticks: 16× headroom for a burst before records are lost. */
export const TARGET_FILL = 1 / 16;

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
  takeFullestFill(); // what drains outside the clock saw (a capture's last one) is not this interval's
  for (const tick of [...ticks]) if (ticks.has(tick)) tick(); // a tick may end another capture
  if (!ticks.size) return stop();
  schedule(nextInterval(intervalMs, takeFullestFill()));
}

/** The interval that would have left the fullest ring at TARGET_FILL (doubling while nothing arrives), within the two paces. */
export function nextInterval(lastMs: number, fill: number): number {
  const ms = fill > 0 ? (lastMs * TARGET_FILL) / fill : lastMs * 2;
  return Math.round(Math.min(IDLE_DRAIN_MS, Math.max(BUSY_DRAIN_MS, ms)));
}
