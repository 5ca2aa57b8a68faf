// What tests need to ask the real kernel: can we trace here, and which BPF
// programs are loaded (to prove a capture left none behind).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { missingTracingCapabilities } from '../../src/libbpf/index.js';
import { projectRoot } from '../../src/util/paths.js';

/** Why kernel tests cannot run here, or undefined when they can. */
export function kernelSkipReason(): string | undefined {
  const missing = missingTracingCapabilities();
  return missing.length ? `needs ${missing.join(' and ')} (run the tests as root)` : undefined;
}

interface ProgShow {
  id: number;
  type: string;
  name?: string;
}

/** Programs loaded in the kernel now, from `bpftool prog show`. */
export function loadedPrograms(): ProgShow[] {
  return JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' })) as ProgShow[];
}

/** Loaded programs named one of `names` (bpftool shows the full name, or the kernel's 15-char cut). */
export function loadedProgramsNamed(names: string[]): ProgShow[] {
  const wanted = new Set([...names, ...names.map((n) => n.slice(0, 15))]);
  return loadedPrograms().filter((p) => p.name && wanted.has(p.name));
}

export const fixtureObject = join(projectRoot, 'build', 'test-bpf', 'fixture', 'fixture.bpf.o');
export const sherlockBin = join(projectRoot, 'bin', 'sherlock.js');

/** BPF objects a process holds, from its fds: program ids, link and map fd counts. */
export function bpfHandlesOf(pid: number = process.pid): { programIds: number[]; links: number; maps: number } {
  const handles = { programIds: [] as number[], links: 0, maps: 0 };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed while we looked
    }
    if (target === 'anon_inode:bpf-prog') {
      const id = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1];
      if (id) handles.programIds.push(Number(id));
    } else if (target === 'anon_inode:bpf_link') {
      handles.links++;
    } else if (target === 'anon_inode:bpf-map') {
      handles.maps++;
    }
  }
  return handles;
}

/**
 * Of these program ids, the ones the kernel still has loaded. The kernel frees
 * a program after an RCU grace period once its last reference is gone, which
 * lags on a busy machine: ids are asked again for up to `graceMs` before one
 * counts as left behind. `graceMs` 0 asks once (programs expected loaded now).
 */
export function stillLoaded(programIds: number[], graceMs = 3000): number[] {
  const until = Date.now() + graceMs;
  for (;;) {
    const loaded = new Set(loadedPrograms().map((p) => p.id));
    const left = programIds.filter((id) => loaded.has(id));
    if (!left.length || Date.now() >= until) return left;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
  }
}
