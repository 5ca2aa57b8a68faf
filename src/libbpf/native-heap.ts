// The C heap's free pages given back to the kernel (glibc's malloc_trim).
// Starting a worker parses and compiles ~350 modules and loads every warm
// object: V8's compiler zones and libbpf free that memory to malloc, which
// keeps it (~8 MiB of an idle worker's RSS). Trimmed once idle, RSS is what
// is in use. A libc without malloc_trim (musl) keeps its pages.
import { koffi } from './native.js';

let trim: ((pad: number) => number) | null | undefined;

/** Returns the free pages of the C heap to the kernel; false where libc cannot. */
export function trimNativeHeap(): boolean {
  if (trim === undefined) {
    try {
      trim = koffi.load('libc.so.6').func('int malloc_trim(size_t pad)') as (pad: number) => number;
    } catch {
      trim = null;
    }
  }
  if (!trim) return false;
  trim(0);
  return true;
}
