// `node --import ./test/helpers/module-trace.mjs …`: appends every module URL
// the process loads to $SHERLOCK_MODULE_TRACE, one a line, so tests and
// benchmarks can see what an entry point really loads.
import { register } from 'node:module';

if (process.env.SHERLOCK_MODULE_TRACE) {
  register(new URL('./module-trace-hooks.mjs', import.meta.url), { data: { file: process.env.SHERLOCK_MODULE_TRACE } });
}
