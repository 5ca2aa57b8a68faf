// The drain clock: one timer for every capture of the process, slowing down
// while the rings are quiet and back at its busy pace at the first tick that
// drains a record. Records come from the fixture's on_getppid, into a real ring.
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_DRAIN_MS, drainClockState, everyDrainTick, IDLE_DRAIN_MS } from '../../src/captures/drain-clock.js';
import { RingBufferReader } from '../../src/libbpf/index.js';
import { closeFixtures, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, triggerGetppid } from '../libbpf/fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stops: (() => void)[] = [];

describe.skipIf(kernelSkip)(kernelTitle('drain clock'), () => {
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
    closeFixtures();
    expectNothingLeft();
  });

  it('slows to the idle pace while nothing arrives, is busy again after a tick with records, stops with its last capture', async () => {
    const obj = loadFixture({ rodata: { burst: 1 }, skip: ['on_sample', 'on_getpgid'] });
    obj.attach('on_getppid');
    const reader = new RingBufferReader(obj.map('events'));
    stops.push(() => reader.close());
    const ticks: number[] = [];
    let produce = false;
    let drained = 0;
    const stop = everyDrainTick(() => {
      ticks.push(performance.now());
      if (produce) triggerGetppid(3);
      drained += reader.drain(() => {});
    });
    stops.push(stop);
    expect(drainClockState()).toEqual({ running: true, intervalMs: BUSY_DRAIN_MS });

    // Quiet: the interval doubles up to the idle pace, and no tick comes sooner than it says.
    while (drainClockState().intervalMs < IDLE_DRAIN_MS && ticks.length < 20) await sleep(BUSY_DRAIN_MS);
    expect(drainClockState().intervalMs).toBe(IDLE_DRAIN_MS);
    const idleTicks = ticks.length;
    await sleep(3 * IDLE_DRAIN_MS + 20);
    expect(ticks.length - idleTicks).toBeLessThanOrEqual(4);

    // Records: the tick that drains them sets the busy pace again.
    produce = true;
    const before = ticks.length;
    while (ticks.length === before) await sleep(5);
    expect(drained).toBeGreaterThan(0);
    expect(drainClockState().intervalMs).toBe(BUSY_DRAIN_MS);

    // A second capture shares the timer; the clock stops with the last one.
    const other = everyDrainTick(() => {});
    stop();
    expect(drainClockState().running).toBe(true);
    other();
    expect(drainClockState().running).toBe(false);
    const after = ticks.length;
    await sleep(3 * IDLE_DRAIN_MS);
    expect(ticks.length).toBe(after);
  });
});
