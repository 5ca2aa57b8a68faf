// An events capture keeps no more than its budgets allow, on the real kernel:
// past maxEvents or past the memory budget a direct runCapture caller sets (a
// worker's run spools instead: event-spool.test.ts) it stops keeping events, counts the rest
// without decoding them, and its result says it was truncated, why and by how
// much. Nothing may stay loaded.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { estimateBytes } from '../../src/captures/event-stream.js';
import { opensnoop } from '../../src/captures/opensnoop/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();

/** A child that opens a missing path `count` times (ENOENT each), then exits. */
function openStorm(dir: string, count: number): Promise<number | null> {
  const script = `const fs=require('node:fs');for(let i=0;i<${count};i++){try{fs.openSync(${JSON.stringify(join(dir, 'missing'))}+i,'r')}catch{}}`;
  const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe.skipIf(skip)(`event capture budgets on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('stops keeping events past its memory share and says how many it dropped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-budget-'));
    try {
      const budget = 64 * 1024;
      const { result } = await captureAround(opensnoop, () => openStorm(dir, 5_000), { eventBudgetBytes: budget, params: { maxEvents: 1_000_000 } });
      expect(result.truncated).toBeDefined();
      const t = result.truncated!;
      expect(t.reason).toBe('memory-budget');
      expect(t.limit).toBe(budget);
      expect(t.keptEvents).toBe(result.events.length);
      expect(t.droppedEvents).toBe(result.drops.memory_budget);
      expect(t.droppedEvents).toBeGreaterThan(1_000); // most of the 5,000 opens
      expect(t.message).toContain('of memory');
      // Kept up to the budget and no further than one event past it.
      const kept = result.events.reduce((n, e) => n + estimateBytes(e), 0);
      expect(kept).toBeGreaterThanOrEqual(budget);
      expect(kept).toBeLessThan(budget + 2_048);
      expect(result.dropped).toBeGreaterThanOrEqual(t.droppedEvents);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('stops at maxEvents with reason event-cap', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-budget-'));
    try {
      const { result } = await captureAround(opensnoop, () => openStorm(dir, 2_000), { eventBudgetBytes: 64 * 1024 * 1024, params: { maxEvents: 50 } });
      expect(result.events.length).toBe(50);
      expect(result.truncated).toMatchObject({ reason: 'event-cap', keptEvents: 50, limit: 50 });
      expect(result.truncated!.droppedEvents).toBe(result.drops.event_cap);
      expect(result.truncated!.droppedEvents).toBeGreaterThan(1_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('is not truncated under its budgets', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-budget-'));
    try {
      const { result } = await captureAround(opensnoop, () => openStorm(dir, 100), { eventBudgetBytes: 64 * 1024 * 1024, target: undefined });
      expect(result.truncated).toBeUndefined();
      expect(result.drops.memory_budget).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
