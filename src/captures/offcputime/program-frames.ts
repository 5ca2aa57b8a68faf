// Where in the program a thread waited: its innermost own frames above the
// wait's implementation (the C library's, an interpreter's, the call that
// waits), as "backoff (app.py:9) ← do_GET (app.py:5)".
import { isObj, num, str } from '../../analysis/common.js';
import { shortFunction } from '../../format/index.js';

/** The C library and interpreters' own code: their frames between the wait and the program's code name neither. */
const RUNTIME_MODULES = /^(libc[.-]|libpthread|ld-linux|libjvm|python\d[\d.]*$|libpython|ruby$|libruby|perl$|libperl|php)/;
/** An address no symbol covers: "python3.11+0x1d64b4"; the JVM's stand-ins for a Java frame it did not name (an interpreted method, a stub). */
const UNNAMED = /\+0x[0-9a-f]+$|^(Interpreter|StubRoutines \(\d+\))$/;

/** The program's `count` innermost frames (leaf last in `frames`) that are not `implementation`'s; "" when none says. */
export function callerOf(frames: unknown[], implementation: (name: string, file: string) => boolean, count = 2): string {
  const own: string[] = [];
  for (let i = frames.length - 1; i >= 0 && own.length < count; i--) {
    const f = frames[i];
    if (!isObj(f) || f.kind === 'kernel') continue;
    const name = str(f.name);
    if (!name || UNNAMED.test(name) || RUNTIME_MODULES.test(str(f.module)) || implementation(name, str(f.file))) continue;
    // Its source file, else its module: not a JIT frame's "[anon]".
    const file = str(f.file).split('/').pop() || str(f.module).replace(/^\[.*\]$/, '');
    own.push(`${shortFunction(name)}${file ? ` (${file}${num(f.line) ? `:${num(f.line)}` : ''})` : ''}`);
  }
  return own.join(' ← ');
}
