// File, line and inlined frames from DWARF on the real kernel: an -O2 -g
// program whose hot function has a call inlined into it, run twice at once,
// once with its DWARF in the binary and once stripped with the DWARF in a
// separate debug file under /usr/lib/debug/.build-id (Debian's -dbgsym
// layout). Both must come out with file and line and the inlined call as its
// own frame, in the data and in pprof read back.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/captures/profile/index.js';
import { renderStackOutput } from '../../src/captures/stack-family/outputs.js';
import { ElfFile } from '../../src/symbolize/index.js';
import { elfForMapping } from '../../src/symbolize/elf-cache.js';
import { readMaps } from '../../src/symbolize/process-maps.js';
import type { StackSample } from '../../src/stacks/types.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { captureDuring, killLeftovers, start, TempDir } from './sched-children.js';

const skip =
  kernelSkipReason() ?? (existsSync('/usr/bin/llvm-symbolizer') ? undefined : 'llvm-symbolizer is not installed (scripts/install-deps.sh installs llvm)');

/** mix_i2 is always inlined into spin_o1 (lines 5-6 and 10); main calls spin_o1 for argv[1] ms. */
const SOURCE = `#include <stdlib.h>
#include <time.h>
static double now_ms(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static inline __attribute__((always_inline)) unsigned long mix_i2(unsigned long x) {
	for (unsigned long i = 0; i < 3000000; i++) x = x * 6364136223846793005UL + i;
	return x;
}
__attribute__((noinline)) unsigned long spin_o1(unsigned long n)
{
	return mix_i2(n ^ 3) + 1;
}
int main(int argc, char **argv)
{
	double end = now_ms() + atof(argv[1]);
	unsigned long s = 0;
	while (now_ms() < end)
		s += spin_o1(s);
	return (int)(s & 1);
}
`;

const names = (s: StackSample) => s.frames.map((f) => f.name);

/** Build id and whether the file has DWARF lines, the file closed again. */
function elfFacts(path: string): { buildId: string | undefined; hasLines: boolean } {
  const elf = ElfFile.open(path);
  try {
    return { buildId: elf.buildId, hasLines: elf.sections.some((s) => s.name === '.debug_line') };
  } finally {
    elf.close();
  }
}

describe.skipIf(skip)(`file, line and inlined frames from DWARF${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let tmp: TempDir;
  let withDwarf: string;
  let stripped: string;
  let debugFile: string;

  beforeAll(() => {
    tmp = new TempDir();
    const src = join(tmp.path, 'sherlock_lines.c');
    writeFileSync(src, SOURCE);
    withDwarf = join(tmp.path, 'sherlock-lines');
    execFileSync('cc', ['-O2', '-g', '-fomit-frame-pointer', '-Wl,--build-id', '-o', withDwarf, src], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
    // A second build with a build id of its own, stripped of DWARF: its DWARF only by build id.
    stripped = join(tmp.path, 'sherlock-lines-stripped');
    const buildId = `0x${randomBytes(20).toString('hex')}`;
    execFileSync('cc', ['-O2', '-g', '-fomit-frame-pointer', `-Wl,--build-id=${buildId}`, '-o', stripped, src], {
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: 120_000,
    });
    const id = elfFacts(stripped).buildId!;
    debugFile = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    mkdirSync(dirname(debugFile), { recursive: true });
    execFileSync('objcopy', ['--only-keep-debug', stripped, join(tmp.path, 'lines.debug')]);
    copyFileSync(join(tmp.path, 'lines.debug'), debugFile);
    execFileSync('strip', ['--strip-debug', stripped]);
  }, 300_000);
  afterAll(() => {
    if (debugFile) rmSync(debugFile, { force: true });
    tmp?.remove();
  });
  afterEach(() => {
    killLeftovers();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('profile: spin_o1 with its file and line, mix_i2 inlined into it as its own frame; pprof has both as lines of one location', async () => {
    expect(elfFacts(stripped).hasLines).toBe(false);
    expect(elfFacts(stripped).buildId).not.toBe(elfFacts(withDwarf).buildId);
    const a = start(withDwarf, ['1500']);
    const b = start(stripped, ['1500']);
    const { result } = await captureDuring(profile, async () => void (await new Promise((r) => setTimeout(r, 1000))), {
      params: { frequency: 199 },
      target: { pid: [a.pid, b.pid] },
    });
    await Promise.all([a.done, b.done]);
    expect(result.sourceLines?.problem).toBeUndefined();
    for (const pid of [a.pid, b.pid]) {
      const mine = result.stacks.filter((s) => s.pid === pid);
      const chain = mine.filter((s) => {
        const n = names(s);
        const at = n.indexOf('spin_o1');
        return at > 0 && n[at - 1] === 'main' && n[at + 1] === 'mix_i2';
      });
      // On failure: each stack with its frames' lines, and what the DWARF pass read (how the /proc path race below was found).
      const framesText = (s: StackSample) => s.frames.map((f) => `${f.name}${f.line ? `:${f.line}` : ''}`).join(';');
      const which = `${pid === a.pid ? 'with DWARF' : 'stripped'} (${mine.reduce((n, st) => n + st.value, 0)} samples, source lines ${JSON.stringify(result.sourceLines)}): ${mine.map(framesText).join(' | ')}`;
      expect(chain.length, which).toBeGreaterThan(0);
      const frames = chain[0]!.frames;
      const outer = frames.find((f) => f.name === 'spin_o1')!;
      const inner = frames.find((f) => f.name === 'mix_i2')!;
      expect(outer).toMatchObject({ line: 10 });
      expect(outer.file).toMatch(/sherlock_lines\.c$/);
      expect(outer.inlined).toBeUndefined();
      expect(inner).toMatchObject({ inlined: true });
      expect([5, 6]).toContain(inner.line);
      expect(frames.find((f) => f.name === 'main')).toMatchObject({ line: 17 });
    }

    const p = Profile.decode(gunzipSync(renderStackOutput(result, 'pprof')));
    const str = p.stringTable.strings;
    const fnName = new Map(p.function.map((f) => [f.id, str[Number(f.name)]]));
    const fnFile = new Map(p.function.map((f) => [f.id, str[Number(f.filename)]]));
    const inlinedLocation = p.location.find((l) => l.line.length === 2 && fnName.get(l.line[0]!.functionId) === 'mix_i2');
    expect(inlinedLocation).toBeDefined();
    expect(fnName.get(inlinedLocation!.line[1]!.functionId)).toBe('spin_o1');
    expect(Number(inlinedLocation!.line[1]!.line)).toBe(10);
    expect(fnFile.get(inlinedLocation!.line[1]!.functionId)).toMatch(/sherlock_lines\.c$/);
    // The folded text and the flame graph draw the inlined call as a frame of its own.
    expect(renderStackOutput(result, 'folded')).toMatch(/;main;spin_o1;mix_i2 /);
  });

  it("a live process's DWARF is read by a path that outlives it (not /proc/PID/...: llvm-symbolizer opens it later, the process may be gone)", async () => {
    for (const binary of [withDwarf, stripped]) {
      const child = start(binary, ['3000']);
      try {
        await new Promise((r) => setTimeout(r, 100)); // exec'd: its maps show the binary
        const mapping = readMaps(child.pid).find((m) => m.path === binary && m.perms.includes('x'))!;
        expect(mapping, `${binary} mapped`).toBeDefined();
        const { elf, error } = elfForMapping(child.pid, mapping);
        expect(error).toBeUndefined();
        const path = elf!.dwarfPath();
        expect(path, binary).toBeDefined();
        expect(path!.startsWith('/proc/'), `${binary}: ${path}`).toBe(false);
      } finally {
        process.kill(child.pid, 'SIGKILL');
        await child.done;
      }
    }
  });
});
