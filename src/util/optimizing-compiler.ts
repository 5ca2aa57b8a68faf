// V8's compilers past the interpreter (TurboFan, and the Sparkplug baseline) held
// back while a worker starts (issue 17). Start-up runs most code once or a few
// times (module bodies, zod schemas, the warm pool's object loads), yet V8 compiles
// whatever crosses its budgets, and the compilers' code pages, zones and output then
// stay resident in an idle worker (~8 MiB of node's binary, heap and malloc; compiling
// even one small function pages in ~3.7 MiB of TurboFan's code). Event decoding needs
// them, so they are back on when the worker's first run starts.
import { setFlagsFromString } from 'node:v8';

/** V8 flag, and how an operator may have set it on node's command line (then it is theirs). */
const COMPILERS: [flag: string, given: RegExp][] = [
  ['turbofan', /^--(no-)?(opt|turbofan)$/],
  ['sparkplug', /^--(no-)?sparkplug$/],
];
let held: string[] = [];

/** Off until releaseOptimizingCompiler(), each unless node was started with that compiler's flag. */
export function holdOptimizingCompiler(): void {
  if (held.length) return;
  held = COMPILERS.filter(([, given]) => !process.execArgv.some((arg) => given.test(arg))).map(([flag]) => flag);
  for (const flag of held) setFlagsFromString(`--no-${flag}`);
}

/** On again, what holdOptimizingCompiler() turned off; safe to call any number of times. */
export function releaseOptimizingCompiler(): void {
  for (const flag of held) setFlagsFromString(`--${flag}`);
  held = [];
}
