// libbpf prints through a callback that the binding routes to the project
// logger: records carry component "libbpf", and nothing reaches stderr except
// through the logger (so SHERLOCK_LOG=silent means silent).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BpfObject, ObjectFileError } from '../../src/libbpf/index.js';
import { setLogLevel, setLogSink, type LogFields, type LogLevel } from '../../src/util/logger.js';
import { distIndex, distSkipReason, fixtureObject, kernelSkip, unsupportedObject } from './fixture.js';

interface LogRecord {
  level: LogLevel;
  msg: string;
  fields: LogFields;
}

let dir: string;
let corrupt: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sherlock-log-'));
  corrupt = join(dir, 'corrupt.bpf.o');
  writeFileSync(corrupt, Buffer.from('this is not an ELF file\n'.repeat(20)));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('libbpf messages in this process', () => {
  const records: LogRecord[] = [];
  const capture = (level: LogLevel) => {
    setLogLevel(level);
    setLogSink((lvl, msg, fields) => records.push({ level: lvl, msg, fields }));
  };
  afterEach(() => {
    setLogSink(undefined);
    setLogLevel((process.env.SHERLOCK_LOG as LogLevel | undefined) ?? 'warn');
    records.length = 0;
  });

  it('a failed open logs libbpf warnings, with component libbpf, and the error carries the reason', () => {
    capture('warn');
    let error: unknown;
    try {
      BpfObject.open(corrupt);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ObjectFileError);
    const fromLibbpf = records.filter((r) => r.fields.component === 'libbpf');
    expect(fromLibbpf.length).toBeGreaterThanOrEqual(1);
    expect(fromLibbpf[0]).toMatchObject({ level: 'warn', msg: expect.stringContaining(corrupt) });
    // The last warning is the reason given in the error.
    const reason = fromLibbpf.at(-1)!.msg.replace(/^libbpf:\s*/, '');
    expect((error as Error).message).toContain(reason);
  });

  it('a good open logs nothing at warn, and libbpf debug lines at debug', () => {
    capture('warn');
    BpfObject.open(fixtureObject).close();
    expect(records).toEqual([]);
    capture('debug');
    BpfObject.open(fixtureObject).close();
    const debug = records.filter((r) => r.fields.component === 'libbpf');
    expect(debug.length).toBeGreaterThan(0);
    expect(debug.every((r) => r.level === 'debug')).toBe(true);
    expect(debug.some((r) => r.msg.includes(fixtureObject))).toBe(true);
  });
});

// Only a child process can show what reaches its real stderr fd (libbpf's
// default printer writes there with fprintf, bypassing process.stderr).
function childOpening(path: string, env: Record<string, string>, load = false) {
  const script = `
    const { BpfObject } = await import(process.env.SHERLOCK_TEST_INDEX);
    try {
      const obj = BpfObject.open(process.env.SHERLOCK_TEST_OBJECT);
      ${load ? "obj.setAutoload('on_kprobe', false); obj.load();" : ''}
      process.stdout.write('ok');
    } catch (err) {
      process.stdout.write(err.name);
    }`;
  return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, SHERLOCK_TEST_INDEX: pathToFileURL(distIndex).href, SHERLOCK_TEST_OBJECT: path, ...env },
  });
}

const distSkip = distSkipReason();
describe.skipIf(distSkip)(`libbpf messages and stderr, in a child process${distSkip ? ` (skipped: ${distSkip})` : ''}`, () => {
  it('SHERLOCK_LOG=silent: a failed open writes nothing to stderr', () => {
    const child = childOpening(corrupt, { SHERLOCK_LOG: 'silent' });
    expect(child.stdout).toBe('ObjectFileError');
    expect(child.stderr).toBe('');
  });

  it('SHERLOCK_LOG=debug, JSON: every stderr line is a logger record', () => {
    const child = childOpening(corrupt, { SHERLOCK_LOG: 'debug', SHERLOCK_LOG_FORMAT: 'json' });
    expect(child.stdout).toBe('ObjectFileError');
    const lines = child.stderr.split('\n').filter(Boolean);
    expect(lines.length).toBeGreaterThan(0); // the control: libbpf had something to say
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.every((r) => r.component === 'libbpf')).toBe(true);
    expect(parsed.some((r) => r.level === 'warn' && String(r.msg).includes(corrupt))).toBe(true);
  });

  it.skipIf(kernelSkip)(
    `SHERLOCK_LOG=silent: a refused load (libbpf's loudest path) writes nothing to stderr${kernelSkip ? ` (skipped: ${kernelSkip})` : ''}`,
    () => {
      const silent = childOpening(unsupportedObject, { SHERLOCK_LOG: 'silent' }, true);
      expect(silent.stdout).toBe('NotSupportedError');
      expect(silent.stderr).toBe('');
      const loud = childOpening(unsupportedObject, { SHERLOCK_LOG: 'warn', SHERLOCK_LOG_FORMAT: 'json' }, true);
      expect(loud.stdout).toBe('NotSupportedError');
      const lines = loud.stderr
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.some((r) => String(r.msg).includes('on_fentry'))).toBe(true);
    },
  );
});
