// An events capture in a worker's run spools its events to disk as they
// arrive, on the real kernel: what it holds in memory stays bounded (a few
// held events and a write buffer) whatever the count, every event comes back
// from the file (with an exec's exit learnt after it was written), and past
// its spool share it stops with reason spool-budget. Nothing may stay loaded.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CaptureDefinition, Collector } from '../../src/captures/capture.js';
import { spooledEventsOf, SPOOL_WRITE_BYTES } from '../../src/captures/event-spool.js';
import { HOLD_EVENTS, type HeldInMemory } from '../../src/captures/event-stream.js';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { opensnoop } from '../../src/captures/opensnoop/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();

/** A child process, killed past `limitMs`. */
function child(file: string, args: string[], limitMs = 30_000): Promise<number | null> {
  const child = spawn(file, args, { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Opens a missing path under `dir` `count` times (ENOENT each). */
const openStorm = (dir: string, count: number) =>
  child(process.execPath, [
    '-e',
    `const fs=require('node:fs');for(let i=0;i<${count};i++){try{fs.openSync(${JSON.stringify(join(dir, 'missing'))}+i,'r')}catch{}}`,
  ]);

/** The definition with its collector watched: the most it held in memory, sampled on every drain tick. */
function watched<P, D>(def: CaptureDefinition<P, D>) {
  const peak: HeldInMemory = { events: 0, bytes: 0 };
  const wrapped: CaptureDefinition<P, D> = {
    ...def,
    collect: (ctx) => {
      const collector = def.collect!(ctx) as Collector<D> & { held(): HeldInMemory };
      const poll = collector.poll!.bind(collector);
      return {
        ...collector,
        poll: () => {
          poll();
          const now = collector.held();
          peak.events = Math.max(peak.events, now.events);
          peak.bytes = Math.max(peak.bytes, now.bytes);
        },
      };
    },
  };
  return { def: wrapped, peak };
}

describe.skipIf(skip)(`event captures spooled to disk on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  let spoolDir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-spool-test-'));
    spoolDir = mkdtempSync(join(tmpdir(), 'sherlock-spool-test-dir-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(spoolDir, { recursive: true, force: true });
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('writes events to disk past a bounded in-memory part and reads every one back', async () => {
    const opens = 20_000;
    const { def, peak } = watched(opensnoop);
    const { result } = await captureAround(def, () => openStorm(dir, opens), {
      spool: { dir: spoolDir, budgetBytes: 512 * 1024 * 1024 },
      params: { maxEvents: 1_000_000, ringBufferMiB: 64 },
    });
    const spool = spooledEventsOf(result);
    expect(spool).toBeDefined();
    expect(result.events).toEqual([]); // none kept in memory
    expect(result.drops.ringbuf_full ?? 0).toBe(0);
    // Every open of the storm is in the file, in one streaming pass.
    let ours = 0;
    for (const e of spool! as Iterable<{ path: string; error?: string }>) if (e.path.startsWith(dir)) ours += e.error === 'ENOENT' ? 1 : 0;
    expect(ours).toBe(opens);
    expect(opensnoop.count(result)).toBe(spool!.length);
    const files = readdirSync(spoolDir);
    expect(files).toHaveLength(1);
    expect(statSync(join(spoolDir, files[0]!)).size).toBe(spool!.bytes);
    expect(spool!.bytes).toBeGreaterThan(4 * SPOOL_WRITE_BYTES); // far more than is ever held
    // What was held in memory stayed at one write buffer, whatever the count: opensnoop never
    // amends an event, so none waits in memory (execsnoop's hold is the test below).
    expect(peak.events).toBe(0);
    expect(peak.bytes).toBeGreaterThan(0);
    expect(peak.bytes).toBeLessThanOrEqual(SPOOL_WRITE_BYTES);
    // The NDJSON for the bundle is the same events, chunk by chunk.
    let lines = 0;
    for (const chunk of spool!.ndjsonChunks()) {
      expect(chunk.at(-1)).toBe(10); // whole lines per chunk
      lines += chunk.toString().split('\n').length - 1;
    }
    expect(lines).toBe(spool!.length);
  }, 90_000);

  it('stops past its spool share with reason spool-budget, counting the rest', async () => {
    const budget = 256 * 1024;
    const { result } = await captureAround(opensnoop, () => openStorm(dir, 5_000), {
      spool: { dir: spoolDir, budgetBytes: budget },
      params: { maxEvents: 1_000_000, ringBufferMiB: 16 },
    });
    const spool = spooledEventsOf(result)!;
    expect(result.truncated).toMatchObject({ reason: 'spool-budget', limit: budget, keptEvents: spool.length });
    expect(result.truncated!.droppedEvents).toBe(result.drops.spool_budget);
    expect(result.truncated!.droppedEvents).toBeGreaterThan(1_000);
    expect(result.truncated!.message).toContain('load.workerEventSpoolMiB');
    expect(spool.bytes).toBeGreaterThanOrEqual(budget);
    // Reached at the budget: one event past it at most (each is counted as it is kept).
    expect(spool.bytes).toBeLessThan(budget + 4096);
    expect(result.dropped).toBeGreaterThanOrEqual(result.truncated!.droppedEvents);
  }, 60_000);

  it("keeps an exec's exit that arrives after its event was written", async () => {
    // A sleeper execs first; more than 2 × HOLD_EVENTS execs follow before it is
    // ended, so its event is on disk when its exit comes: applied on reading.
    const marker = join(dir, 'sleeper');
    const script = `(exec -a ${marker} sleep 600) & S=$!; for i in $(seq ${2 * HOLD_EVENTS + 300}); do /bin/true; done; kill -TERM $S; wait $S`;
    const { result } = await captureAround(execsnoop, () => child('/bin/bash', ['-c', script], 150_000), {
      spool: { dir: spoolDir, budgetBytes: 512 * 1024 * 1024 },
      params: { ringBufferMiB: 16 },
      durationMs: 160_000, // a bound only: the child's end ends the capture
      settleMs: 200,
    });
    const spool = spooledEventsOf(result)!;
    const events = [...(spool as Iterable<{ argv: string[]; filename: string; exitSignal?: number; lifetimeMs?: number }>)];
    const trues = events.filter((e) => e.filename === '/bin/true').length;
    expect(trues).toBeGreaterThanOrEqual(2 * HOLD_EVENTS + 300);
    const sleeper = events.find((e) => e.argv[0] === marker);
    expect(sleeper, 'the sleeper exec').toBeDefined();
    expect(sleeper!.exitSignal).toBe(15);
    expect(sleeper!.lifetimeMs).toBeGreaterThan(0);
    // The bundle's NDJSON carries it too.
    const ndjson = Buffer.concat([...spool.ndjsonChunks()]).toString();
    const rows = ndjson
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { argv: string[] });
    expect(rows.find((r) => r.argv[0] === marker)).toMatchObject({ exitSignal: 15 });
  }, 330_000);
});
