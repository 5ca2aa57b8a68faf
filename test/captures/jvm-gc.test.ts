// A JVM's own counters of its collections (hsperfdata): the file format read
// in both byte orders and when cut short, the window's collections and the
// old generation, and a real JVM's counters against what jstat reads.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePerfData, perfDataFiles, readPerfDataFile, type PerfCounters } from '../../src/util/hsperfdata.js';
import { gcWindow, jvmGcText, jvmGcTracker } from '../../src/captures/profile/jvm-gc.js';
import { projectRoot } from '../../src/util/paths.js';
import { jdkSkipReason, removeJvmLeftovers } from '../helpers/jdk.js';

/** A counters file as HotSpot lays it out: a 32-byte prologue, then entries (a 20-byte header, the name, the value). */
function perfDataFile(entries: [string, number | string][], littleEndian = true): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of entries) {
    const nameBytes = Buffer.from(`${name}\0`, 'latin1');
    const data = typeof value === 'number' ? Buffer.alloc(8) : Buffer.from(`${value}\0`);
    if (typeof value === 'number' && littleEndian) data.writeBigInt64LE(BigInt(value));
    else if (typeof value === 'number') data.writeBigInt64BE(BigInt(value));
    const header = Buffer.alloc(20);
    const length = 20 + nameBytes.length + data.length;
    const int = (v: number, at: number) => (littleEndian ? header.writeInt32LE(v, at) : header.writeInt32BE(v, at));
    int(length, 0);
    int(20, 4); // the name follows the header
    int(typeof value === 'number' ? 0 : data.length, 8); // a vector's length: 0 for a number
    header[12] = (typeof value === 'number' ? 'J' : 'B').charCodeAt(0);
    int(20 + nameBytes.length, 16); // the value follows the name
    parts.push(header, nameBytes, data);
  }
  const prologue = Buffer.alloc(32);
  prologue.writeUInt32BE(0xcafec0c0, 0);
  prologue[4] = littleEndian ? 1 : 0;
  const int = (v: number, at: number) => (littleEndian ? prologue.writeInt32LE(v, at) : prologue.writeInt32BE(v, at));
  int(32, 24);
  int(entries.length, 28);
  return Buffer.concat([prologue, ...parts]);
}

const counters = (pairs: [string, number | string][]): PerfCounters => new Map(pairs);

describe('hsperfdata', () => {
  const entries: [string, number | string][] = [
    ['sun.gc.policy.name', 'GarbageFirst'],
    ['sun.gc.collector.0.invocations', 179],
    ['sun.os.hrt.frequency', 1_000_000_000],
  ];

  it('reads numbers and strings, little- and big-endian', () => {
    for (const little of [true, false]) expect(parsePerfData(perfDataFile(entries, little))).toEqual(new Map(entries));
  });

  it('a file cut short keeps the entries before the cut; one that is not a counters file reads as nothing', () => {
    const file = perfDataFile(entries);
    expect(parsePerfData(file.subarray(0, file.length - 10))).toEqual(new Map(entries.slice(0, 2)));
    expect(parsePerfData(Buffer.from('not a counters file, not at all'))).toBeUndefined();
  });

  it("the window: each collector's collections and pauses from the counters' difference, the old generation at the end", () => {
    const at = (young: number, full: number, youngTicks: number, fullTicks: number, oldUsed: number) =>
      counters([
        ['sun.os.hrt.frequency', 1e9],
        ['sun.gc.policy.name', 'GarbageFirst'],
        ['sun.gc.collector.0.name', 'G1 young collection pauses'],
        ['sun.gc.collector.0.invocations', young],
        ['sun.gc.collector.0.time', youngTicks],
        ['sun.gc.collector.1.name', 'G1 full collection pauses'],
        ['sun.gc.collector.1.invocations', full],
        ['sun.gc.collector.1.time', fullTicks],
        ['sun.gc.generation.1.spaces', 1],
        ['sun.gc.generation.1.maxCapacity', 80 * 2 ** 20],
        ['sun.gc.generation.1.space.0.used', oldUsed],
      ]);
    const w = gcWindow(at(100, 2, 0.1e9, 0.05e9, 40 * 2 ** 20), at(529, 63, 0.9e9, 1.27e9, 74.5 * 2 ** 20));
    expect(w).toEqual({
      policy: 'GarbageFirst',
      collectors: [
        { name: 'G1 young collection pauses', collections: 429, pausedSeconds: 0.8 },
        { name: 'G1 full collection pauses', collections: 61, pausedSeconds: 1.22 },
      ],
      old: { usedBytes: 74.5 * 2 ** 20, maxBytes: 80 * 2 ** 20 },
    });
    const next =
      'a heap too small for what it keeps: raise -Xmx (its old generation can grow to 80 MiB), or find what holds memory (jmap -histo:live 42, a heap dump)';
    expect(jvmGcText(w, 42, 3)).toEqual({
      said:
        'its own counters: 61 G1 full collection pauses (1.22 s paused) and 429 G1 young collection pauses (800 ms paused) in the window; ' +
        'its old generation held 74.5 MiB of 80 MiB at the end, collected whole 61 times: what it keeps fills its heap, and each collection frees little',
      next,
    });
    // 85% full at the end, without whole-heap collections: the same reading.
    expect(jvmGcText(gcWindow(at(0, 0, 0, 0, 0), at(10, 0, 0.02e9, 0, 70 * 2 ** 20)), 42, 3).next).toBe(next);
    // Room left in the old generation: its collections said, no full heap.
    expect(jvmGcText(gcWindow(at(0, 0, 0, 0, 0), at(10, 0, 0.02e9, 0, 20 * 2 ** 20)), 42, 3)).toEqual({
      said: 'its own counters: 10 G1 young collection pauses (20 ms paused) in the window; its old generation held 20 MiB of 80 MiB at the end',
    });
    // 66 MiB of 80 at the end (between the live set and the limit): full when the whole heap was collected once a second or more.
    const between = (full: number) => jvmGcText(gcWindow(at(0, 0, 0, 0, 0), at(500, full, 0.7e9, 1.3e9, 66 * 2 ** 20)), 42, 3);
    expect(between(78).next).toBe(next);
    expect(between(2).next).toBeUndefined();
  });
});

const skip = jdkSkipReason();

describe.skipIf(skip)(`a running JVM's counters${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  let jvm: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-jvm-gc-'));
    chmodSync(dir, 0o755);
    // The evaluation's inventory-api: a cache that fills most of an 80 MiB heap, collected again and again.
    execFileSync('javac', ['-d', dir, join(projectRoot, 'test/eval/programs/Inventory.java')], { stdio: 'ignore', timeout: 60_000 });
    jvm = spawn('java', ['-Xmx80m', '-cp', dir, 'Inventory', '8946', join(dir, 'count'), '30'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 2000)); // its cache filled
    expect(jvm.exitCode).toBeNull();
  }, 90_000);

  afterAll(() => {
    jvm?.kill('SIGKILL');
    if (jvm?.pid) removeJvmLeftovers(jvm.pid);
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts its collections over a window and its old generation, as jstat reads them', async () => {
    const pid = jvm!.pid!;
    const tracker = jvmGcTracker();
    await new Promise((r) => setTimeout(r, 1000));
    const w = tracker.end([pid, 1])[pid]!; // pid 1 is no JVM: nothing for it
    expect(tracker.end([1])).toEqual({});
    expect(w.policy).toBe('GarbageFirst');
    const collections = w.collectors.reduce((n, c) => n + c.collections, 0);
    expect(collections).toBeGreaterThan(0);
    expect(w.collectors.every((c) => c.pausedSeconds >= 0 && c.pausedSeconds < 1.5)).toBe(true);
    // jstat's old generation's most (OGCMX, KiB), and the JVM's collections since it started (YGC, FGC) at least those of the window.
    const [head, row] = execFileSync('jstat', ['-J-XX:-UsePerfData', '-gc', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const jstat = Object.fromEntries(
      head!
        .trim()
        .split(/\s+/)
        .map((k, i) => [k, Number(row!.trim().split(/\s+/)[i])]),
    );
    const capacity = execFileSync('jstat', ['-J-XX:-UsePerfData', '-gccapacity', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const ogcmx = Number(capacity[1]!.trim().split(/\s+/)[capacity[0]!.trim().split(/\s+/).indexOf('OGCMX')]);
    expect(Math.abs(w.old!.maxBytes / 1024 - ogcmx)).toBeLessThan(1);
    expect(jstat.YGC! + jstat.FGC!).toBeGreaterThanOrEqual(collections - (w.collectors.find((c) => /concurrent/.test(c.name))?.collections ?? 0));
    expect(readPerfDataFile(perfDataFiles().get(pid)!)?.get('sun.gc.policy.name')).toBe('GarbageFirst');
  });
});
