// A thread sampled again in the same place unwinds the same way: a hot loop at
// 99 Hz repeats its registers and the stack words its walk reads, sample after
// sample, and a walk costs ~0.1-0.3 ms of the capturing process's CPU, beside
// the workload. A walk is reused only when the registers are the same and every
// word it read is the same in the new copy (compared, not assumed); entries
// expire after a second, so a process's new mappings are seen.
import { unwindStack, type CodeLocation, type StackSnapshot, type UnwoundStack } from './unwind-stack.js';

const TTL_MS = 1000;
const MAX_ENTRIES = 4096;

interface Walk {
  /** Offsets into the stack copy the walk read, and the 8 bytes found there (undefined: past the copy). */
  offsets: number[];
  words: (bigint | undefined)[];
  unwound: UnwoundStack;
  at: number;
}

const wordAt = (data: Buffer, off: number): bigint | undefined =>
  Number.isInteger(off) && off >= 0 && off + 8 <= data.length ? data.readBigUInt64LE(off) : undefined;

export class UnwindMemo {
  private readonly walks = new Map<string, Walk>();
  hits = 0;

  /** unwindStack, or a walk of the same thread's same place whose every read word is unchanged. Treat the result as read-only. */
  unwind(tgid: number, snapshot: StackSnapshot, locate: (pc: number) => CodeLocation | undefined, maxDepth: number): UnwoundStack {
    const key = `${tgid}:${snapshot.ip}:${snapshot.sp}:${snapshot.dataStart ?? snapshot.sp}:${snapshot.bp}:${maxDepth}`;
    const now = performance.now();
    const known = this.walks.get(key);
    if (known && now - known.at < TTL_MS && known.offsets.every((off, i) => wordAt(snapshot.data, off) === known.words[i])) {
      this.hits++;
      return known.unwound;
    }
    const offsets: number[] = [];
    const unwound = unwindStack(snapshot, locate, maxDepth, offsets);
    if (this.walks.size >= MAX_ENTRIES) this.walks.clear();
    this.walks.set(key, { offsets, words: offsets.map((off) => wordAt(snapshot.data, off)), unwound, at: now });
    return unwound;
  }
}
