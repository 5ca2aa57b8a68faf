// V8's optimizing compiler (TurboFan) held back while a worker starts (issue 17).
// Start-up runs most code once or a few times (module bodies, zod schemas, the
// warm pool's object loads), yet V8 optimizes whatever crosses its budget, and
// the optimizer's code pages and zones then stay resident in an idle worker
// (~7 MiB: node's binary and malloc). Event decoding needs it, so it is back on
// once start-up is over or a run starts, whichever comes first.
import { setFlagsFromString } from 'node:v8';

let held = false;

/** Off until releaseOptimizingCompiler(); left alone when node was started with --opt/--no-opt (--turbofan) itself. */
export function holdOptimizingCompiler(): void {
  if (held || process.execArgv.some((arg) => /^--(no-)?(opt|turbofan)$/.test(arg))) return;
  setFlagsFromString('--no-turbofan');
  held = true;
}

/** On again, if holdOptimizingCompiler() turned it off; safe to call any number of times. */
export function releaseOptimizingCompiler(): void {
  if (!held) return;
  setFlagsFromString('--turbofan');
  held = false;
}

export const optimizingCompilerHeld = (): boolean => held;
