// close() must leave nothing in the kernel: no programs, links, maps or perf
// events, whether or not links were still attached; closeAllObjects() closes
// whatever was left open.
import { readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAllObjects } from '../../src/libbpf/index.js';
import { bpfHandlesOf, loadedProgramsNamed, stillLoaded } from '../helpers/kernel.js';
import {
  closeFixtures,
  cpuClock,
  expectNothingLeft,
  FIXTURE_PROGRAMS,
  kernelSkip,
  kernelTitle,
  leftoverPrograms,
  loadFixture,
  openFixture,
  programId,
  readCount,
  triggerGetpgid,
  triggerGetppid,
} from './fixture.js';

const noHandles = { programIds: [], links: 0, maps: 0 };

/** perf_event fds this process holds (one per CPU per attached perf_event program). */
function perfEventFds(): number {
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[perf_event]') n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** Ids of the object's loaded programs. */
const idsOf = (obj: ReturnType<typeof loadFixture>) => obj.spec.programs.filter((p) => p.autoload).map((p) => programId(obj, p.name));

/** Of the fixture programs bpftool lists, those with one of these ids. */
const listedWithIds = (ids: number[]) => loadedProgramsNamed(FIXTURE_PROGRAMS).filter((p) => ids.includes(p.id));

describe.skipIf(kernelSkip)(kernelTitle('cleanup'), () => {
  afterEach(() => {
    closeFixtures();
    expectNothingLeft();
  });

  it('close() unloads every program and frees every map; twice is safe', () => {
    const obj = loadFixture();
    const ids = idsOf(obj);
    expect(ids).toHaveLength(3);
    expect(
      listedWithIds(ids)
        .map((p) => p.name)
        .sort(),
    ).toEqual(FIXTURE_PROGRAMS.slice().sort());
    expect(bpfHandlesOf().programIds.sort()).toEqual(ids.slice().sort());
    obj.close();
    expect(obj.isOpen).toBe(false);
    expect(stillLoaded(ids)).toEqual([]);
    expect(listedWithIds(ids)).toEqual([]);
    expect(bpfHandlesOf()).toEqual(noHandles);
    obj.close();
    expect(obj.isOpen).toBe(false);
  });

  it('close() with links attached detaches them: programs, links and perf events all go', () => {
    const perfBefore = perfEventFds();
    const handlesBefore = bpfHandlesOf();
    expect(handlesBefore).toEqual(noHandles);
    const obj = loadFixture();
    const ids = idsOf(obj);
    const links = obj.attachAll({ perfEvent: cpuClock });
    expect(links).toHaveLength(3);
    triggerGetppid(4);
    expect(readCount(obj)).toBe(4n); // attached for real
    const attached = bpfHandlesOf();
    expect(attached.links).toBeGreaterThanOrEqual(2); // two tracepoints, plus the perf links
    obj.close();
    expect(stillLoaded(ids)).toEqual([]);
    expect(bpfHandlesOf()).toEqual(noHandles);
    expect(perfEventFds()).toBe(perfBefore);
    links.forEach((l) => l.destroy()); // already destroyed by close: a no-op
  });

  it('detachAll() stops the programs but keeps the maps readable until close', async () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    obj.attachAll();
    triggerGetppid(5);
    triggerGetpgid(2);
    await obj.detachAll();
    triggerGetppid(5);
    triggerGetpgid(2);
    expect(readCount(obj)).toBe(5n);
    expect(readCount(obj, 0)).toBe(2n);
    expect(bpfHandlesOf().links).toBe(0);
    expect(stillLoaded(idsOf(obj), 0)).toHaveLength(2); // loaded until close
    // Attaching again works after detachAll.
    obj.attach('on_getppid');
    triggerGetppid(1);
    expect(readCount(obj)).toBe(6n);
  });

  it('closeAllObjects() closes objects left open, loaded or not', () => {
    const loaded = loadFixture({ skip: ['on_sample'] });
    const ids = idsOf(loaded);
    loaded.attachAll();
    const parsed = openFixture();
    closeAllObjects();
    expect(loaded.isOpen).toBe(false);
    expect(parsed.isOpen).toBe(false);
    expect(stillLoaded(ids)).toEqual([]);
    expect(leftoverPrograms()).toEqual([]);
    expect(bpfHandlesOf()).toEqual(noHandles);
  });

  it('Symbol.dispose closes the object', () => {
    const obj = loadFixture({ skip: ['on_sample'] });
    const ids = idsOf(obj);
    obj.attach('on_getppid');
    obj[Symbol.dispose]();
    expect(obj.isOpen).toBe(false);
    expect(stillLoaded(ids)).toEqual([]);
  });

  it('20 load/attach/close cycles leave nothing behind', () => {
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const obj = loadFixture({ skip: ['on_sample', 'on_getpgid'] });
      ids.push(programId(obj, 'on_getppid'));
      obj.attach('on_getppid');
      obj.close();
    }
    expect(new Set(ids).size).toBe(20);
    expect(stillLoaded(ids)).toEqual([]);
    expect(bpfHandlesOf()).toEqual(noHandles);
  });
});
