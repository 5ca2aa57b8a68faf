// makeDirectory: mkdir -p that ends with an error naming the directory where
// Node's recursive mkdir loops forever (a parent that takes no new directory,
// /proc), and the CLI saying so for --state-dir and --out before it starts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirectory } from '../../src/util/make-dir.js';
import { distSkipReason, sherlockBin } from '../server/harness.js';

describe('makeDirectory', () => {
  it('makes missing parents with the mode asked, and leaves a directory that is there', () => {
    const base = mkdtempSync(join(tmpdir(), 'sherlock-mkdir-'));
    try {
      const deep = join(base, 'a', 'b', 'c');
      makeDirectory(deep, 0o700);
      expect(statSync(deep).isDirectory()).toBe(true);
      expect(statSync(join(base, 'a')).mode & 0o777).toBe(0o700 & ~process.umask());
      makeDirectory(deep); // there already: nothing to do
      writeFileSync(join(base, 'file'), '');
      expect(() => makeDirectory(join(base, 'file'))).toThrow(`cannot create ${join(base, 'file')}: a file of that name is there`);
      expect(() => makeDirectory(join(base, 'file', 'below'))).toThrow(`cannot create ${join(base, 'file', 'below')}: ENOTDIR`);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });

  it('a parent that takes no new directory (/proc) is an error, not a loop', () => {
    expect(() => makeDirectory('/proc/sherlock-nope/deeper')).toThrow('cannot create /proc/sherlock-nope: /proc does not take new directories');
  });
});

const skip = distSkipReason();

describe.skipIf(skip)(`the CLI refuses a directory it cannot make, before it starts${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const sherlock = (...args: string[]) => spawnSync(process.execPath, [sherlockBin, ...args], { encoding: 'utf8', timeout: 20_000 });

  it('--state-dir of sherlock up, --out of sherlock capture: exit 2 and what was wrong', () => {
    const up = sherlock('up', '--state-dir', '/proc/sherlock-nope', '--port', '1');
    expect([up.status, up.stderr]).toEqual([2, 'sherlock: --state-dir: cannot create /proc/sherlock-nope: /proc does not take new directories\n']);
    const capture = sherlock('capture', 'execsnoop', '--duration', '1s', '--out', '/proc/sherlock-nope');
    expect([capture.status, capture.stderr]).toEqual([2, 'sherlock: --out: cannot create /proc/sherlock-nope: /proc does not take new directories\n']);
  });
});
