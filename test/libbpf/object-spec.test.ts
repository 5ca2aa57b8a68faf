// BpfObject.open parses an object file without privileges or a kernel: the
// spec must list the fixture's programs, maps and rodata variables as the
// source (test/bpf/fixture/fixture.bpf.c) declares them.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BpfObject, type MapSpec, type ProgramSpec, type VariableSpec } from '../../src/libbpf/index.js';
import { sherlockBin } from '../helpers/kernel.js';
import { closeFixtures, distSkipReason, fixtureObject, openFixture } from './fixture.js';

// As declared in fixture.bpf.c.
const expectedPrograms: ProgramSpec[] = [
  { name: 'on_getpgid', section: 'tracepoint/syscalls/sys_enter_getpgid', type: 'tracepoint', autoload: true },
  { name: 'on_getppid', section: 'tracepoint/syscalls/sys_enter_getppid', type: 'tracepoint', autoload: true },
  { name: 'on_sample', section: 'perf_event', type: 'perf_event', autoload: true },
];

const expectedMaps: MapSpec[] = [
  { name: 'big', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16384 },
  { name: 'counts', type: 'hash', keySize: 4, valueSize: 8, maxEntries: 1024 },
  { name: 'events', type: 'ringbuf', keySize: 0, valueSize: 0, maxEntries: 1 << 22 },
  { name: 'percpu_counts', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 },
  { name: 'rb_drops', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 },
  { name: 'samples', type: 'percpu_array', keySize: 4, valueSize: 8, maxEntries: 1 },
  { name: 'seen', type: 'array', keySize: 4, valueSize: 32, maxEntries: 1 }, // struct fixture_seen
  { name: 'seq', type: 'array', keySize: 4, valueSize: 8, maxEntries: 1 },
];

// In declaration order; offsets are the compiler's, checked for consistency below.
const expectedRodata: Array<Omit<VariableSpec, 'offset'>> = [
  { name: 'rd_u32', size: 4, kind: 'uint' },
  { name: 'rd_u64', size: 8, kind: 'uint' },
  { name: 'rd_bool', size: 1, kind: 'bool' },
  { name: 'rd_comm', size: 16, kind: 'chars' },
  { name: 'burst', size: 4, kind: 'uint' },
  { name: 'trigger_tgid', size: 4, kind: 'uint' },
];

const byName = <T extends { name: string }>(items: T[]): T[] => [...items].sort((a, b) => a.name.localeCompare(b.name));

afterEach(closeFixtures);

describe('BpfObject.open: the spec of the fixture object', () => {
  it('lists the programs with their sections and types', () => {
    const obj = openFixture();
    expect(byName(obj.spec.programs)).toEqual(expectedPrograms);
    expect(obj.spec.path).toBe(fixtureObject);
  });

  it('lists the maps with types, key/value sizes and max entries, and hides .rodata', () => {
    const obj = openFixture();
    expect(byName(obj.spec.maps)).toEqual(expectedMaps);
    expect(obj.spec.maps.map((m) => m.name).filter((n) => n.includes('.'))).toEqual([]);
  });

  it('lists the rodata variables with sizes and kinds, at aligned, non-overlapping offsets', () => {
    const { rodata } = openFixture().spec;
    expect(rodata.map(({ name, size, kind }) => ({ name, size, kind }))).toEqual(expectedRodata);
    for (const v of rodata) {
      const align = v.kind === 'chars' ? 1 : Math.min(v.size, 8);
      expect(v.offset % align, `${v.name} at ${v.offset}`).toBe(0);
    }
    const sorted = [...rodata].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++) {
      const prev = sorted[i - 1]!;
      expect(sorted[i]!.offset, `${sorted[i]!.name} after ${prev.name}`).toBeGreaterThanOrEqual(prev.offset + prev.size);
    }
  });

  it('reflects setMaxEntries and setAutoload in the spec before load', () => {
    const obj = openFixture({ maxEntries: { events: 4096, big: 100 }, skip: ['on_sample'] });
    expect(obj.spec.maps.find((m) => m.name === 'events')?.maxEntries).toBe(4096);
    expect(obj.spec.maps.find((m) => m.name === 'big')?.maxEntries).toBe(100);
    expect(obj.spec.programs.filter((p) => !p.autoload).map((p) => p.name)).toEqual(['on_sample']);
    obj.setAutoload('on_sample', true);
    expect(obj.spec.programs.every((p) => p.autoload)).toBe(true);
  });

  it('names unknown maps and programs in settings with a TypeError', () => {
    const obj = openFixture();
    expect(() => obj.setMaxEntries('nope', 1)).toThrow(TypeError);
    expect(() => obj.setMaxEntries('nope', 1)).toThrow(/no map "nope"/);
    expect(() => obj.setAutoload('nope', false)).toThrow(/no program "nope"/);
  });

  it('gives two opens of one file independent specs', () => {
    const a = openFixture({ maxEntries: { big: 10 } });
    const b = openFixture();
    expect(a.spec.maps.find((m) => m.name === 'big')?.maxEntries).toBe(10);
    expect(b.spec.maps.find((m) => m.name === 'big')?.maxEntries).toBe(16384);
  });
});

// The CLI's `inspect` as user nobody with no capabilities at all: parsing must
// not need any. Runs the compiled CLI, so it needs dist/.
function canSwitchUsers(): boolean {
  const hex = /^CapEff:\s+([0-9a-f]+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  const caps = hex ? BigInt(`0x${hex}`) : 0n;
  return [6n, 7n, 8n].every((cap) => (caps >> cap) & 1n); // CAP_SETGID, CAP_SETUID, CAP_SETPCAP
}

const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'];
const nobodySkip =
  distSkipReason() ??
  (canSwitchUsers() ? undefined : 'needs root (CAP_SETUID, CAP_SETGID, CAP_SETPCAP) to switch to user nobody') ??
  (existsSync('/usr/bin/setpriv') ? undefined : 'needs setpriv (util-linux)');

describe.skipIf(nobodySkip)(`sherlock inspect as user nobody${nobodySkip ? ` (skipped: ${nobodySkip})` : ''}`, () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  /** A copy of the fixture nobody can read, whatever the checkout's permissions. */
  function readableCopy(): string {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-inspect-'));
    chmodSync(dir, 0o755);
    const copy = join(dir, 'fixture.bpf.o');
    copyFileSync(fixtureObject, copy);
    chmodSync(copy, 0o644);
    return copy;
  }

  it('runs without any capability', () => {
    const status = spawnSync('setpriv', [...asNobody, 'cat', '/proc/self/status'], { encoding: 'utf8' });
    expect(status.status, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(status.stdout).toMatch(/^CapEff:\s+0+$/m);
    expect(status.stdout).toMatch(/^CapPrm:\s+0+$/m);
  });

  it('prints the same spec as BpfObject.open in this process', () => {
    const copy = readableCopy();
    const child = spawnSync('setpriv', [...asNobody, process.execPath, sherlockBin, 'inspect', copy], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, SHERLOCK_LOG: 'warn' },
    });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).toBe('');
    const printed = JSON.parse(child.stdout) as { programs: ProgramSpec[] };
    expect(byName(printed.programs)).toEqual(expectedPrograms);
    const here = BpfObject.open(copy);
    try {
      expect(printed).toEqual(here.spec);
    } finally {
      here.close();
    }
  });
});
