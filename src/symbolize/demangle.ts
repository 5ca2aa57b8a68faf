// C++ and Rust names as people read them. Choice: binutils' c++filt, in one
// batch per call (a pipe, not a process per name), results cached. It reads
// Itanium C++ (_Z), Rust legacy (_ZN...17h<hash>E; the hash is cut) and Rust
// v0 (_R) the way gdb and perf show them; no npm demangler covers both
// languages as well. Without c++filt on PATH names stay mangled (the text
// says nothing: the mangled name is still the right function).
import { spawnSync } from 'node:child_process';

const cache = new Map<string, string>();
const MAX_CACHED = 200_000;
let unavailable = false;

const isMangled = (name: string): boolean => name.startsWith('_Z') || name.startsWith('_R');

/** A Rust legacy symbol ends in a hash segment ("::h" + 16 hex digits) that names nothing. */
const RUST_HASH = /::h[0-9a-f]{16}$/;

/** Demangled forms of the mangled names among `names` (others map to themselves). */
export function demangleAll(names: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const todo: string[] = [];
  for (const name of names) {
    if (out.has(name)) continue;
    const cached = cache.get(name);
    if (cached !== undefined) out.set(name, cached);
    else if (!isMangled(name) || unavailable || /\s/.test(name)) out.set(name, name);
    else {
      out.set(name, name);
      todo.push(name);
    }
  }
  if (!todo.length) return out;
  const run = spawnSync('c++filt', [], { input: todo.join('\n') + '\n', encoding: 'utf8', maxBuffer: 256 << 20, timeout: 30_000 });
  if (run.error || run.status !== 0) {
    unavailable = (run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    return out;
  }
  const lines = run.stdout.split('\n');
  if (cache.size + todo.length > MAX_CACHED) cache.clear();
  todo.forEach((name, i) => {
    const line = lines[i];
    const readable = line && line !== name ? line.replace(RUST_HASH, '') : name;
    cache.set(name, readable);
    out.set(name, readable);
  });
  return out;
}
