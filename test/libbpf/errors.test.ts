// Every way to misuse the binding or feed it a bad file must end in a typed
// error that says what to do, never a crash or a bare errno.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, hasKprobes, NotSupportedError, ObjectFileError, type RodataValue } from '../../src/libbpf/index.js';
import { setLogSink } from '../../src/util/logger.js';
import { loadedProgramsNamed } from '../helpers/kernel.js';
import {
  closeFixtures,
  expectNothingLeft,
  fixtureObject,
  kernelSkip,
  kernelTitle,
  loadFixture,
  openFixture,
  unsupportedObject,
  UNSUPPORTED_PROGRAMS,
} from './fixture.js';

/** The error `fn` throws (fails the test if it returns). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw, but the call returned');
}

afterEach(closeFixtures);
// libbpf's warnings about the bad files are expected here (log.test.ts checks
// them): keep them out of the test output.
beforeAll(() => setLogSink(() => {}));
afterAll(() => setLogSink(undefined));

describe('object files that are not BPF objects', () => {
  let dir: string;
  const corrupt: Record<string, string> = {};

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-corrupt-'));
    const real = readFileSync(fixtureObject);
    const write = (name: string, bytes: Buffer) => {
      corrupt[name] = join(dir, name);
      writeFileSync(corrupt[name]!, bytes);
    };
    write('random bytes', randomBytes(4096));
    write('empty file', Buffer.alloc(0));
    write('ELF magic only', Buffer.from('\x7fELF', 'latin1'));
    write('first 64 bytes', real.subarray(0, 64));
    write('first half', real.subarray(0, real.length >> 1));
    write('all but the last byte', real.subarray(0, real.length - 1));
    corrupt['a directory'] = join(dir, 'dir.bpf.o');
    mkdirSync(corrupt['a directory']!);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing file: ObjectFileError naming the path and `make bpf`', () => {
    const path = join(tmpdir(), `sherlock-missing-${process.pid}.bpf.o`);
    const err = thrown(() => BpfObject.open(path));
    expect(err).toBeInstanceOf(ObjectFileError);
    expect((err as ObjectFileError).path).toBe(path);
    expect(err.message).toContain(path);
    expect(err.message).toContain('make bpf');
  });

  it.each(['random bytes', 'empty file', 'ELF magic only', 'first 64 bytes', 'first half', 'all but the last byte', 'a directory'])(
    '%s: ObjectFileError naming the path',
    (kind) => {
      const path = corrupt[kind]!;
      const err = thrown(() => BpfObject.open(path));
      expect(err).toBeInstanceOf(ObjectFileError);
      expect((err as ObjectFileError).path).toBe(path);
      expect(err.message).toMatch(new RegExp(`^cannot open BPF object ${path}: \\S`));
    },
  );

  it('a good copy of the object opens (the corrupt ones fail for their content, not their place)', () => {
    const copy = join(dir, 'good.bpf.o');
    copyFileSync(fixtureObject, copy);
    const obj = BpfObject.open(copy);
    try {
      expect(obj.spec.programs.length).toBe(3);
    } finally {
      obj.close();
    }
  });
});

describe('setRodata: names and values checked before anything is written', () => {
  it('an unknown name: TypeError listing every known name', () => {
    const obj = openFixture();
    const err = thrown(() => obj.setRodata({ rd_u33: 1 }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toContain('"rd_u33"');
    for (const v of obj.spec.rodata) expect(err.message).toContain(v.name);
  });

  it.each<[string, RodataValue, RegExp]>([
    ['rd_u32', -1, /rd_u32 \(uint, 4 bytes\) takes an integer in \[0, 4294967295\], got "-1"/],
    ['rd_u32', 2 ** 32, /rd_u32 .* takes an integer in \[0, 4294967295\], got "4294967296"/],
    ['rd_u32', 2n ** 32n, /rd_u32 .* takes an integer in \[0, 4294967295\]/],
    ['rd_u64', 2n ** 64n, /rd_u64 \(uint, 8 bytes\) takes an integer in \[0, 18446744073709551615\]/],
    ['rd_u64', -1n, /rd_u64 .* takes an integer in \[0, /],
    ['rd_u32', 1.5, /rd_u32 .* takes an integer, got "1.5"/],
    ['rd_u32', Number.NaN, /rd_u32 .* takes an integer, got "NaN"/],
    ['rd_u32', 'abc', /rd_u32 .* takes an integer, got "abc"/],
    ['rd_u32', true, /rd_u32 .* takes an integer/],
    ['rd_comm', 'sixteen-chars-xx', /rd_comm \(chars, 16 bytes\) takes a string of at most 15 bytes/],
    ['rd_comm', 'ééééééééé', /rd_comm .* at most 15 bytes/], // 9 characters, 18 UTF-8 bytes
    ['rd_comm', 42, /rd_comm .* takes a string, got "42"/],
    ['rd_bool', 'yes', /rd_bool \(bool, 1 bytes\) takes true or false, got "yes"/],
    ['rd_bool', 1, /rd_bool .* takes true or false/],
  ])('%s = %s: TypeError %s', (name, value, message) => {
    const obj = openFixture();
    const err = thrown(() => obj.setRodata({ [name]: value }));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toMatch(message);
  });

  it('accepts the limits of each kind', () => {
    const obj = openFixture();
    expect(() => obj.setRodata({ rd_u32: 2 ** 32 - 1, rd_u64: 2n ** 64n - 1n, rd_comm: 'fifteen-bytes!!', rd_bool: false })).not.toThrow();
    expect(() => obj.setRodata({ rd_u32: 0, rd_u64: 0, rd_comm: '' })).not.toThrow();
  });
});

describe('calls in the wrong phase', () => {
  it('map(), programFd() and attach() before load: Error saying so', () => {
    const obj = openFixture();
    expect(() => obj.map('counts')).toThrow(/cannot use a map before .*fixture\.bpf\.o is loaded/);
    expect(() => obj.programFd('on_getppid')).toThrow(/cannot use a program before .* is loaded/);
    expect(() => obj.attach('on_getppid')).toThrow(/cannot attach before .* is loaded/);
  });

  it('anything after close: Error saying the object is closed', () => {
    const obj = openFixture();
    obj.close();
    expect(() => obj.setRodata({ rd_u32: 1 })).toThrow(/cannot set rodata: .* is closed/);
    expect(() => obj.map('counts')).toThrow(/is closed/);
    expect(() => obj.load()).toThrow(/cannot load: .* is closed/);
  });
});

describe.skipIf(kernelSkip)(kernelTitle('calls in the wrong phase, once loaded'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('settings and a second load after load: Error saying so', () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    expect(() => obj.setRodata({ rd_u32: 1 })).toThrow(/cannot set rodata after .* is loaded/);
    expect(() => obj.setMaxEntries('big', 10)).toThrow(/cannot resize a map after .* is loaded/);
    expect(() => obj.setAutoload('on_getpgid', false)).toThrow(/cannot change autoload after .* is loaded/);
    expect(() => obj.load()).toThrow(/cannot load after .* is loaded/);
  });

  it('unknown maps and programs, and programs left out of the load: TypeError', () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    expect(() => obj.map('nope')).toThrow(TypeError);
    expect(() => obj.attach('nope')).toThrow(TypeError);
    expect(() => obj.attach('on_sample')).toThrow(/program "on_sample" is not loaded/);
  });

  it('a perf_event program attached without an event: TypeError asking for one', () => {
    const obj = loadFixture();
    expect(() => obj.attach('on_sample')).toThrow(/perf_event program: pass options.perfEvent/);
  });

  it('a map used after its object closed: Error, not whatever map reuses its fd', () => {
    const first = loadFixture({ skip: ['on_sample'] });
    const stale = first.map('big');
    first.close();
    // A second object's maps get the freed fd numbers back.
    const second = loadFixture({ skip: ['on_sample'] });
    second.map('big').update(Buffer.alloc(4), Buffer.alloc(8, 1));
    expect(() => stale.lookup(Buffer.alloc(4))).toThrow(/cannot use map big: its object is closed/);
    expect(() => [...stale.keys()]).toThrow(/closed/);
    expect(() => stale.entries()).toThrow(/closed/);
  });

  it('keys and values of the wrong size: TypeError before the kernel reads past them', () => {
    const big = loadFixture({ skip: ['on_sample'] }).map('big');
    expect(() => big.lookup(Buffer.alloc(2))).toThrow(/map big takes 4-byte keys, got 2 bytes/);
    expect(() => big.update(Buffer.alloc(4), Buffer.alloc(1))).toThrow(/map big takes 8-byte values, got 1 bytes/);
    expect(() => big.update(Buffer.alloc(8), Buffer.alloc(8))).toThrow(/4-byte keys, got 8/);
    expect(() => big.delete(Buffer.alloc(3))).toThrow(TypeError);
    expect([...big.keys()]).toEqual([]); // nothing was written
  });
});

// test/bpf/unsupported: a kprobe and an fentry program, which this project's
// kernel cannot run (kprobes compiled out; tracing programs refused).
const kprobesPresent = kernelSkip ? false : hasKprobes();

describe.skipIf(kernelSkip)(kernelTitle('programs this kernel cannot run'), () => {
  afterEach(() => {
    closeFixtures();
    // Only these tests load this object, so its names alone must be gone.
    expect(loadedProgramsNamed(UNSUPPORTED_PROGRAMS)).toEqual([]);
    expectNothingLeft();
  });

  it('loading an fentry program: NotSupportedError naming fentry', () => {
    const obj = openFixture({ skip: ['on_kprobe'] }, unsupportedObject);
    expect(obj.spec.programs.find((p) => p.name === 'on_fentry')).toMatchObject({ type: 'tracing', autoload: true });
    const err = thrown(() => obj.load());
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).feature).toMatch(/fentry/);
    expect(err.message).toMatch(/tracing programs \(fentry\/do_nanosleep\) are refused by this kernel/);
    expect(() => obj.map('x')).toThrow(/before .* is loaded/); // the failed load left it unloaded
  });

  it.skipIf(kprobesPresent)(
    `attaching a kprobe program: NotSupportedError naming kprobes${kprobesPresent ? ' (skipped: this kernel has kprobes)' : ''}`,
    () => {
      const obj = openFixture({ skip: ['on_fentry'] }, unsupportedObject);
      obj.load(); // a kprobe program loads; only attaching needs kprobe events
      const err = thrown(() => obj.attach('on_kprobe'));
      expect(err).toBeInstanceOf(NotSupportedError);
      expect((err as NotSupportedError).feature).toBe('kprobes');
      expect(() => obj.attachAll()).toThrow(NotSupportedError);
    },
  );
});
