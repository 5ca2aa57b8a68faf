// JIT frames from a perf map: a real `node --perf-basic-prof` child burns CPU
// in a named function until V8 compiles it and writes its map entry; an
// address inside that entry must come back as that name, kind 'jit'. Plus the
// parser and the incremental reader on files this test writes.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSymbolizer } from '../../src/symbolize/index.js';
import { PerfMap, parsePerfMapLine, perfMapCandidates } from '../../src/symbolize/perf-map.js';

const FN = `sherlockJitBurn${Math.random().toString(36).slice(2, 8)}`;
const BURN_MS = 20_000; // upper bound; the test kills it as soon as it is done

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('perf map (JIT) symbols', () => {
  const children: ChildProcess[] = [];
  const scratch = mkdtempSync(join(tmpdir(), 'sherlock-perfmap-'));

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const c of children) if (c.pid) rmSync(`/tmp/perf-${c.pid}.map`, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it('names an address inside a node --perf-basic-prof entry, kind jit', async () => {
    const program = `function ${FN}(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * (i & 7); return s; }
const end = Date.now() + ${BURN_MS}; let x = 0; while (Date.now() < end) x += ${FN}(20000); if (x === 0.5) console.log(x);`;
    // cwd: node writes an isolate-*-v8.log there with --perf-basic-prof; keep it in our scratch dir.
    const child = spawn(process.execPath, ['--perf-basic-prof', '-e', program], { stdio: 'ignore', cwd: scratch });
    children.push(child);
    const pid = child.pid as number;
    const mapFile = `/tmp/perf-${pid}.map`;
    let line: string | undefined;
    for (const t0 = Date.now(); !line && Date.now() - t0 < 15_000; ) {
      await sleep(100);
      if (!existsSync(mapFile)) continue;
      line = readFileSync(mapFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes(FN))
        .pop();
    }
    expect(line, `no ${FN} entry in ${mapFile} within 15 s`).toBeDefined();
    const [startHex, sizeHex, ...nameParts] = (line as string).split(' ');
    const start = BigInt(`0x${startHex}`);
    const size = BigInt(`0x${sizeHex}`);
    const name = nameParts.join(' ');
    const symbolizer = createSymbolizer();
    const [frame] = symbolizer.symbolizeUser(pid, [start + size / 2n]);
    expect(frame).toMatchObject({ name, kind: 'jit' });
    expect(frame?.name).toContain(FN);
    child.kill('SIGKILL');
  });

  it('parses "start size name" lines, with or without 0x, names with spaces', () => {
    expect(parsePerfMapLine('7f00aa001000 3c LazyCompile:*burn /x/y.js:1')).toEqual({
      start: 0x7f00aa001000,
      size: 0x3c,
      name: 'LazyCompile:*burn /x/y.js:1',
    });
    expect(parsePerfMapLine('0x1000 0x20 Interpreter')).toEqual({ start: 0x1000, size: 0x20, name: 'Interpreter' });
    expect(parsePerfMapLine('garbage')).toBeUndefined();
    expect(parsePerfMapLine('1000 0 empty')).toBeUndefined();
  });

  it('reads appended lines incrementally; a later entry at the same start wins; a half-written line waits', () => {
    const file = join(scratch, 'perf-1.map');
    writeFileSync(file, '1000 100 first\n2000 10 second\n');
    const map = new PerfMap([join(scratch, 'missing.map'), file]);
    expect(map.refresh()).toBe(true);
    expect(map.file).toBe(file);
    expect(map.lookup(0x1050)?.name).toBe('first');
    expect(map.lookup(0x2010)).toBeUndefined(); // past 0x2000 + 0x10
    appendFileSync(file, '1000 100 replaced\n3000 10 thi');
    expect(map.refresh()).toBe(true);
    expect(map.lookup(0x1050)?.name).toBe('replaced');
    expect(map.lookup(0x3001)).toBeUndefined(); // line not finished yet
    appendFileSync(file, 'rd\n');
    map.refresh();
    expect(map.lookup(0x3001)?.name).toBe('third');
    expect(map.count).toBe(4);
  });

  it('ignores a perf map older than the process (a previous process with the same pid)', () => {
    const file = join(scratch, 'perf-2.map');
    writeFileSync(file, '1000 100 stale\n');
    const map = new PerfMap([file], Date.now() + 60_000);
    map.refresh();
    expect(map.lookup(0x1010)).toBeUndefined();
  });

  it('looks inside the process root first (containers), then the host /tmp', () => {
    expect(perfMapCandidates(4242, 7)).toEqual(['/proc/4242/root/tmp/perf-7.map', '/tmp/perf-4242.map']);
  });
});
