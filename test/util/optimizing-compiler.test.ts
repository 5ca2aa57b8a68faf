// holdOptimizingCompiler: V8's TurboFan and Sparkplug off while a worker starts, on again after.
// Run in a child node with --allow-natives-syntax, which reads a function's tier.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';

const built = join(projectRoot, 'dist', 'src', 'util', 'optimizing-compiler.js');
// V8's OptimizationStatus bits (src/runtime/runtime-test.cc): optimized by any tier, and Sparkplug code.
const OPTIMIZED = 1 << 4;
const BASELINE = 1 << 15;

/** A hot loop's optimization status in a child node, after `before` ran there. */
function statusAfter(before: string, nodeFlags: string[] = []): { held: number; released: number } {
  const script = `
    const { holdOptimizingCompiler, releaseOptimizingCompiler } = await import(${JSON.stringify(built)});
    const hot = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; };
    const run = () => { for (let k = 0; k < 200; k++) hot(20000); };
    ${before}
    run(); run();
    const held = %GetOptimizationStatus(hot);
    releaseOptimizingCompiler();
    run(); run();
    await new Promise((r) => setTimeout(r, 200)); // concurrent compiles land
    run();
    console.log(JSON.stringify({ held, released: %GetOptimizationStatus(hot) }));`;
  const child = spawnSync('node', ['--allow-natives-syntax', ...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(child.status, child.stderr).toBe(0);
  return JSON.parse(child.stdout.trim().split('\n').pop()!);
}

describe.skipIf(!existsSync(built))('holding the optimizing compiler (needs make build)', () => {
  it('keeps hot code unoptimized while held, and optimizes it once released', () => {
    const { held, released } = statusAfter('holdOptimizingCompiler();');
    expect(held & OPTIMIZED).toBe(0);
    expect(held & BASELINE).toBe(0);
    expect(released & OPTIMIZED).toBe(OPTIMIZED);
  });

  it('optimizes as usual when never held (the check above can fail)', () => {
    const { held } = statusAfter('');
    expect(held & OPTIMIZED).toBe(OPTIMIZED);
  });

  it('leaves an operator-given --no-opt alone: release does not turn TurboFan on', () => {
    const { released } = statusAfter('holdOptimizingCompiler();', ['--no-opt']);
    expect(released & OPTIMIZED).toBe(0);
  });
});
