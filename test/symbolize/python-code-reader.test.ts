// Python code objects as PythonCodeReader reads them from a process's memory,
// forged in this process's own heap: a live interpreter frees and reuses
// objects while the profiler reads them, so a "str" may hold anything. A
// four-byte-kind string with a code point past Unicode once threw out of the
// profile's drain and killed the worker; it must read as unreadable.
import { afterEach, describe, expect, it } from 'vitest';
import { koffi, lib } from '../../src/libbpf/native.js';
import type { PythonCodeLayout } from '../../src/symbolize/python/layouts.js';
import { PythonCodeReader } from '../../src/symbolize/python/code-objects.js';

// Made-up offsets: the reader follows whatever layout it is given.
const LAYOUT: PythonCodeLayout = {
  qualname: 8,
  name: 16,
  filename: 24,
  lineTable: 32,
  firstLineNo: 40,
  codeAdaptive: 64,
  unicodeLength: 16,
  unicodeState: 32,
  asciiData: 40,
  compactData: 56,
  bytesSize: 16,
  bytesData: 32,
};
const STR_AT = 256;
const SIZE = 512;

const owned: unknown[] = [];
afterEach(() => {
  for (const memory of owned.splice(0)) lib().free(memory);
});

/** A code object whose qualname and name are both the same compact UCS-4 str of `points`. */
function forgedCode(points: number[]): bigint {
  const memory = lib().malloc(SIZE);
  owned.push(memory);
  const view = Buffer.from(koffi.view(memory, SIZE));
  view.fill(0);
  const base = koffi.address(memory) as bigint;
  const str = base + BigInt(STR_AT);
  view.writeBigUInt64LE(str, LAYOUT.qualname);
  view.writeBigUInt64LE(str, LAYOUT.name);
  view.writeInt32LE(7, LAYOUT.firstLineNo);
  view.writeBigInt64LE(BigInt(points.length), STR_AT + LAYOUT.unicodeLength);
  const kind4 = 4 << 2;
  const compact = 1 << 5; // not ascii: the data follows the compact header
  view.writeUInt32LE(kind4 | compact, STR_AT + LAYOUT.unicodeState);
  points.forEach((point, i) => view.writeUInt32LE(point, STR_AT + LAYOUT.compactData + 4 * i));
  return base;
}

describe('PythonCodeReader on forged objects', () => {
  it('reads a four-byte-kind str, astral code points included', () => {
    const reader = new PythonCodeReader(process.pid, LAYOUT);
    try {
      expect(reader.code(forgedCode([0x61, 0x1f600, 0x62]))).toMatchObject({ name: 'a\u{1f600}b', file: '?', firstLine: 7 });
    } finally {
      reader.close();
    }
  });

  it('a code point past Unicode makes the object unreadable, not a throw', () => {
    const reader = new PythonCodeReader(process.pid, LAYOUT);
    try {
      expect(reader.code(forgedCode([0x61, 0x110000]))).toBeUndefined();
      expect(reader.frame(forgedCode([0xffffffff]), 0n)).toBeUndefined();
    } finally {
      reader.close();
    }
  });
});
