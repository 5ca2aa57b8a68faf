// The warm pool against the real kernel: objects loaded ahead with no program
// attached, a run that takes one only attaches and still sees every exec, a
// taken object is replaced, other settings are learned after a miss, and
// closing frees everything (also a load still in flight).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { execsnoop, type ExecEvent } from '../../src/captures/execsnoop/index.js';
import { tcpconnlat } from '../../src/captures/tcpconnlat/index.js';
import { profile } from '../../src/captures/profile/index.js';
import { onlineCpus } from '../../src/libbpf/index.js';
import { openConfigured, type ObjectSettings } from '../../src/captures/open-configured.js';
import { WarmPool } from '../../src/captures/warm-pool.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason, stillLoaded } from '../helpers/kernel.js';
import { paramsSchema } from '../../src/captures/params-schema.js';

const skip = kernelSkipReason();

const hostWide = (def: typeof execsnoop | typeof tcpconnlat | typeof profile, params: unknown = {}): ObjectSettings => ({
  def: def as unknown as ObjectSettings['def'],
  params: paramsSchema<unknown>(def).parse(params),
  target: { description: 'all processes' },
});

function runTrue(marker: string, times: number): Promise<void> {
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const child = spawn('/bin/true', [marker], { stdio: 'ignore' });
      child.once('error', reject);
      child.once('exit', () => resolve());
    });
  return (async () => {
    for (let i = 0; i < times; i++) await one();
  })();
}

let pool: WarmPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
});

describe.skipIf(skip)(`warm pool${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('keeps an object loaded with nothing attached, and a run that takes it sees every exec', async () => {
    // The replacement loads after the run went live: the program ids seen live are then the run's alone.
    pool = new WarmPool({ refillDelayMs: 500 });
    await pool.warm([hostWide(execsnoop)]);
    const idle = bpfHandlesOf();
    expect(idle.programIds.length).toBeGreaterThan(0);
    expect(idle.links).toBe(0); // loaded, verified, not attached: no CPU while idle
    expect(pool.memory().objects).toBe(1);
    expect(pool.memory().kernelBytes).toBeGreaterThan(0);

    const marker = `warm-${randomUUID()}`;
    const { result, programIds } = await captureAround(execsnoop, () => runTrue(marker, 20), { pool });
    expect(result.timings.warm).toBe(true);
    const seen = (result.events as ExecEvent[]).filter((e) => e.argv.includes(marker));
    expect(seen).toHaveLength(20);
    expect(result.dropped).toBe(0);
    expect(stillLoaded(programIds)).toEqual([]); // the run's own object is gone with the run

    await pool.settled(); // replaced in the background, with fresh maps
    expect(pool.memory().objects).toBe(1);
    const again = await captureAround(execsnoop, () => runTrue(marker, 3), { pool });
    expect(again.result.timings.warm).toBe(true);
    expect((again.result.events as ExecEvent[]).filter((e) => e.argv.includes(marker))).toHaveLength(3); // no stale events
  });

  it('loads a replacement halfway through a short window, not after the default delay', async () => {
    pool = new WarmPool({ refillDelayMs: 20_000 });
    const settings = hostWide(execsnoop);
    await pool.warm([settings]);
    const taken = pool.take(settings, 400)!; // a 400 ms window: refilled from ~200 ms on
    expect(pool.memory().objects).toBe(0);
    try {
      const until = Date.now() + 10_000; // far under the 20 s default, whatever the load
      while (pool.memory().objects === 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(pool.memory().objects).toBe(1);
    } finally {
      taken.close();
    }
  });

  it('starts cold with other settings, then keeps those warm', async () => {
    pool = new WarmPool({ refillDelayMs: 0 });
    await pool.warm([hostWide(tcpconnlat)]);
    const params = { maxEvents: 123 };
    const first = await captureAround(execsnoop, () => Promise.resolve(), { pool, params });
    expect(first.result.timings.warm).toBe(false);
    await pool.settled();
    expect(pool.memory().objects).toBe(2);
    const second = await captureAround(execsnoop, () => Promise.resolve(), { pool, params });
    expect(second.result.timings.warm).toBe(true);
    // A pid target is another shape of filter: not served by the host-wide object.
    const byPid = await captureAround(execsnoop, () => Promise.resolve(), { pool, params, target: { pid: [process.pid] } });
    expect(byPid.result.timings.warm).toBe(false);
  });

  it('keeps a profile object with its perf events open but disabled: no sample while idle, a run only enables them', async () => {
    pool = new WarmPool({ refillDelayMs: 0 });
    const settings = hostWide(profile, { frequency: 997 });
    await pool.warm([settings]);
    const warmObject = pool.take(settings)!;
    expect(warmObject.preparedPerfEventCount).toBe(onlineCpus().length);
    burnCpu(100);
    expect([...warmObject.map('counts').keys()]).toEqual([]); // disabled: nothing sampled while idle
    warmObject.close(); // taken: ours to free (and its perf events with it)
    await pool.settled(); // the replacement, prepared again

    // Its 16 MiB ring was counted twice as V8 external memory when read through a view (a GC in every start).
    const externalBefore = process.memoryUsage().external;
    let externalAtLive = 0;
    const during = () => {
      externalAtLive = process.memoryUsage().external;
      burnCpu(200);
      return Promise.resolve();
    };
    const { result } = await captureAround(profile, during, { pool, params: { frequency: 997 } });
    expect(result.timings.warm).toBe(true);
    expect(result.total).toBeGreaterThan(20); // ~200 of this process alone at 997 Hz
    expect(externalAtLive - externalBefore).toBeLessThan(4 << 20);
  });

  it('frees an object closed while the verifier still has it', async () => {
    const object = openConfigured(hostWide(execsnoop));
    const loading = object.loadAsync();
    object.close();
    await expect(loading).rejects.toThrow(/closed while it loaded/);
    expect(object.isOpen).toBe(false);
  });
});

function burnCpu(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}
