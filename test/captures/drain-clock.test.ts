// The drain clock: one timer for every capture of the process, its pace set
// by how full the fullest ring was when drained (slow while rings stay nearly
// empty, faster as they fill), stopping with its last capture. Records come
// from the fixture's on_getppid, into a real 4 MiB ring.
import { afterEach, describe, expect, it } from 'vitest';
import { BUSY_DRAIN_MS, drainClockState, everyDrainTick, IDLE_DRAIN_MS, nextInterval, TARGET_FILL } from '../../src/captures/drain-clock.js';
import { RingBufferReader } from '../../src/libbpf/index.js';
import { closeFixtures, expectNothingLeft, kernelSkip, kernelTitle, loadFixture, triggerGetppid } from '../libbpf/fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const stops: (() => void)[] = [];
const BURST = 1024; // records per getppid()

describe('drain clock pace', () => {
  it('keeps the fullest ring near TARGET_FILL, within the busy and idle paces', () => {
    expect(nextInterval(80, TARGET_FILL)).toBe(80); // on target: the same pace
    expect(nextInterval(80, 4 * TARGET_FILL)).toBe(20); // four times as full: four times as often
    expect(nextInterval(40, TARGET_FILL / 100)).toBe(IDLE_DRAIN_MS); // a trickle: never slower than idle
    expect(nextInterval(10, 0.99)).toBe(BUSY_DRAIN_MS); // nearly full: never faster than busy
    expect(nextInterval(10, 0)).toBe(20); // nothing: doubling
    expect(nextInterval(IDLE_DRAIN_MS, 0)).toBe(IDLE_DRAIN_MS);
  });
});

describe.skipIf(kernelSkip)(kernelTitle('drain clock'), () => {
  afterEach(() => {
    for (const stop of stops.splice(0)) stop();
    closeFixtures();
    expectNothingLeft();
  });

  it('stays slow for a trickle, speeds up as the ring fills, stops with its last capture', async () => {
    const obj = loadFixture({ rodata: { burst: BURST }, skip: ['on_sample', 'on_getpgid'] });
    obj.attach('on_getppid');
    const reader = new RingBufferReader(obj.map('events'));
    stops.push(() => reader.close());
    const ticks: number[] = [];
    let produce = 0; // getppid() calls at the next tick, each BURST records
    let drained = 0;
    let fill = 0;
    const stop = everyDrainTick(() => {
      ticks.push(performance.now());
      triggerGetppid(produce);
      produce = 0;
      fill = reader.pending() / reader.map.maxEntries;
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

    // A trickle (one burst: under 1% of the ring) keeps the idle pace.
    const atTick = async (calls: number) => {
      produce = calls;
      const before = ticks.length;
      while (ticks.length === before) await sleep(5);
    };
    await atTick(1);
    expect(drained).toBe(BURST);
    expect(fill).toBeGreaterThan(0);
    expect(drainClockState().intervalMs).toBe(IDLE_DRAIN_MS);

    // A quarter of the ring in one interval: four times TARGET_FILL, so a quarter of the interval.
    const quarter = Math.ceil(reader.map.maxEntries / 4 / (BURST * 24)); // 16-byte record + 8-byte header
    await atTick(quarter);
    expect(fill).toBeGreaterThanOrEqual(0.25);
    expect(drainClockState().intervalMs).toBe(nextInterval(IDLE_DRAIN_MS, fill));
    expect(drainClockState().intervalMs).toBeLessThanOrEqual(IDLE_DRAIN_MS / 4);

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
