// trimNativeHeap: glibc's malloc_trim through koffi, called by an idle worker.
import { describe, expect, it } from 'vitest';
import { trimNativeHeap } from '../../src/libbpf/index.js';

const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;

describe('native heap trim', () => {
  it.skipIf(!glibc)(`gives free C heap pages back with glibc${glibc ? '' : ' (skipped: libc is not glibc)'}`, () => {
    expect(trimNativeHeap()).toBe(true);
    expect(trimNativeHeap()).toBe(true); // again: bound once, safe to repeat
  });
});
