// Bundle entry names: whatever a node, capture or file name holds, the
// sanitized path stays inside the bundle directory and is portable.
import { describe, expect, it } from 'vitest';
import { MAX_SEGMENT, SegmentAllocator, safePath, safeSegment, staysInside } from '../../src/report/names.js';

const SEGMENT = /^[A-Za-z0-9._+@=,~-]{1,100}$/;

describe('bundle entry names', () => {
  it('sanitizes hostile segments: no way up, no absolute path, no control characters', () => {
    expect(safeSegment('../x')).toBe('.._x');
    expect(safeSegment('/abs')).toBe('_abs');
    expect(safeSegment('a\u0000b')).toBe('a_b');
    expect(safeSegment('..')).toBe('__');
    expect(safeSegment('.')).toBe('_');
    expect(safeSegment('')).toBe('_');
    expect(safeSegment('...')).toBe('___');
    expect(safeSegment('C:\\Windows\\system32')).toBe('C__Windows_system32');
    expect(safeSegment('line\nbreak\rtab\tdel\u007f')).toBe('line_break_tab_del_');
    expect(safeSegment('ノード')).toBe('___');
    expect(safeSegment('x'.repeat(300))).toHaveLength(MAX_SEGMENT);
    // Valid node and file names pass unchanged (findings name their paths).
    for (const ok of ['web-1', 'db.prod_2', 'profile.pb.gz', 'profile.folded.txt', 'execsnoop.ndjson', 'a..b']) expect(safeSegment(ok)).toBe(ok);
  });

  it('joins segments into a relative path that stays inside the bundle directory', () => {
    const root = 'sherlock-run';
    for (const [node, file] of [
      ['../x', 'a.json'],
      ['/abs', '../../../etc/passwd'],
      ['a\u0000b', '/etc/shadow'],
      ['..', '..'],
      ['', ''],
    ] as const) {
      const path = `${root}/${safePath('nodes', node, file)}`;
      expect(staysInside(path, root), path).toBe(true);
      expect(
        path
          .split('/')
          .slice(1)
          .every((s) => SEGMENT.test(s) && s !== '.' && s !== '..'),
      ).toBe(true);
    }
  });

  it('keeps random hostile names inside, every time', () => {
    const alphabet = ['.', '..', '/', '\\', '\u0000', '\n', ':', 'a', 'Z', '9', '-', '_', ' ', 'é', '\u202e', '~', '%2e', '\ud800'];
    let seed = 42;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let i = 0; i < 2000; i++) {
      const name = Array.from({ length: rand(12) }, () => alphabet[rand(alphabet.length)]).join('');
      const segment = safeSegment(name);
      expect(segment, JSON.stringify(name)).toMatch(SEGMENT);
      expect(['.', '..']).not.toContain(segment);
      expect(staysInside(`root/nodes/${segment}/${safeSegment(name)}`, 'root')).toBe(true);
    }
  });

  it('gives distinct directories to names that sanitize alike, and the same one to the same name', () => {
    const dirs = new SegmentAllocator();
    expect(dirs.get('a/b')).toBe('a_b');
    expect(dirs.get('a_b')).toBe('a_b~2');
    expect(dirs.get('a\u0000b')).toBe('a_b~3');
    expect(dirs.get('a/b')).toBe('a_b');
    const long = new SegmentAllocator();
    const a = long.get(`${'x'.repeat(120)}1`);
    const b = long.get(`${'x'.repeat(120)}2`);
    expect(a).not.toBe(b);
    expect(b.length).toBeLessThanOrEqual(MAX_SEGMENT);
  });

  it('tells names that leave the bundle directory from those that stay', () => {
    expect(staysInside('root/a/b.json', 'root')).toBe(true);
    expect(staysInside('root', 'root')).toBe(true);
    expect(staysInside('root/../x', 'root')).toBe(false);
    expect(staysInside('root/a/../../x', 'root')).toBe(false);
    expect(staysInside('/root/a', 'root')).toBe(false);
    expect(staysInside('other/a', 'root')).toBe(false);
    expect(staysInside('root/a\u0000b', 'root')).toBe(false);
    expect(staysInside('root/a\\..\\..\\x', 'root')).toBe(false);
    expect(staysInside('root//a', 'root')).toBe(false);
    expect(staysInside('root/./a', 'root')).toBe(false);
  });
});
