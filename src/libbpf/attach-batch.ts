// Several tracepoint programs of one object attached in one call on one of
// koffi's threads (libbpf's skeleton attach), instead of one call each: every
// call on koffi's threads wakes a thread that then competes with the event
// loop for a CPU, and attaches issued in parallel only queue on the kernel's
// text lock (7 tracepoints: ~2 ms one after another, ~3.7 ms from 7 threads).
import { koffi, lib, type Handle } from './native.js';

// struct bpf_object_skeleton (libbpf 1.x, 64-bit): sz, name, data, data_sz,
// obj, map_cnt, map_skel_sz, maps, prog_cnt, prog_skel_sz, progs.
const SKELETON_SIZE = 72;
const OFFSET_SZ = 0;
const OFFSET_PROG_CNT = 56;
const OFFSET_PROG_SKEL_SZ = 60;
const OFFSET_PROGS = 64;
// struct bpf_prog_skeleton: name, bpf_program **prog, bpf_link **link.
const PROG_SKELETON_SIZE = 24;

/**
 * Attaches each program by its section, in order, until one fails. Resolves
 * with a link per program: null for those not attached (the one that failed
 * and those after it), which the caller attaches one by one for the error.
 */
export function attachBatchAsync(programs: readonly Handle[]): Promise<Handle[]> {
  const native = lib();
  const n = programs.length;
  const progsAt = SKELETON_SIZE;
  const programSlotsAt = progsAt + n * PROG_SKELETON_SIZE;
  const linkSlotsAt = programSlotsAt + n * 8;
  const size = linkSlotsAt + n * 8;
  const memory = native.malloc(size);
  if (!memory) return Promise.resolve(programs.map(() => null));
  const view = Buffer.from(koffi.view(memory, size));
  view.fill(0);
  const base = koffi.address(memory) as bigint;
  view.writeBigUInt64LE(BigInt(SKELETON_SIZE), OFFSET_SZ);
  view.writeInt32LE(n, OFFSET_PROG_CNT);
  view.writeInt32LE(PROG_SKELETON_SIZE, OFFSET_PROG_SKEL_SZ);
  view.writeBigUInt64LE(base + BigInt(progsAt), OFFSET_PROGS);
  programs.forEach((program, i) => {
    view.writeBigUInt64LE(koffi.address(program) as bigint, programSlotsAt + 8 * i);
    const entry = progsAt + i * PROG_SKELETON_SIZE;
    view.writeBigUInt64LE(base + BigInt(programSlotsAt + 8 * i), entry + 8);
    view.writeBigUInt64LE(base + BigInt(linkSlotsAt + 8 * i), entry + 16);
  });
  return new Promise((resolve) => {
    native.bpf_object__attach_skeleton.async(memory, () => {
      const links = programs.map((_, i) => koffi.decode(memory, linkSlotsAt + 8 * i, 'bpf_link *') as Handle);
      native.free(memory);
      resolve(links);
    });
  });
}
