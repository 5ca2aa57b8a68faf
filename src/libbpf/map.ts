// A loaded BPF map, by fd: lookup, update, delete, iterate, batch read.
// Keys and values are Buffers in the kernel's layout; captures decode them.
import { constants } from 'node:os';
import { BpfError } from './errors.js';
import { PERCPU_MAP_TYPES } from './kernel-types.js';
import { errnoOf, lastErrno, lib } from './native.js';

const { ENOENT, EINVAL, EOPNOTSUPP } = constants.errno;
const ENOTSUPP = 524; // kernel-internal, not in libc: batch ops missing for this map type
const BATCH_UNSUPPORTED = new Set([EINVAL, ENOTSUPP, EOPNOTSUPP]);

export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;

export interface MapSpec {
  name: string;
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
}

let possibleCpus: number | undefined;
/** Per-CPU maps hold one value slot per possible CPU, each rounded up to 8 bytes. */
export function possibleCpuCount(): number {
  if (possibleCpus === undefined) possibleCpus = lib().libbpf_num_possible_cpus() as number;
  return possibleCpus;
}

export class BpfMap implements MapSpec {
  readonly name: string;
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Bytes one lookup writes: valueSize, or per-CPU slots × CPUs. */
  readonly valueBufferSize: number;
  private closed = false;

  constructor(
    spec: MapSpec,
    readonly fd: number,
  ) {
    ({ name: this.name, type: this.type, keySize: this.keySize, valueSize: this.valueSize, maxEntries: this.maxEntries } = spec);
    this.valueBufferSize = this.perCpu ? roundUp8(this.valueSize) * possibleCpuCount() : this.valueSize;
  }

  get perCpu(): boolean {
    return PERCPU_MAP_TYPES.has(this.type);
  }

  /** Called by BpfObject.close(): the fd is closed, and its number may soon name another map. */
  markClosed(): void {
    this.closed = true;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  lookup(key: Buffer): Buffer | undefined {
    const fd = this.checkedFd(key);
    const value = Buffer.alloc(this.valueBufferSize);
    const ret = lib().bpf_map_lookup_elem(fd, key, value);
    if (ret === 0) return value;
    if (errnoOf(ret) === ENOENT) return undefined;
    throw new BpfError(`lookup in map ${this.name}`, errnoOf(ret));
  }

  update(key: Buffer, value: Buffer, flags = BPF_ANY): void {
    const fd = this.checkedFd(key, value);
    const ret = lib().bpf_map_update_elem(fd, key, value, flags);
    if (ret !== 0) throw new BpfError(`update of map ${this.name}`, errnoOf(ret));
  }

  /** Deletes a key; returns false when it was not there. */
  delete(key: Buffer): boolean {
    const ret = lib().bpf_map_delete_elem(this.checkedFd(key), key);
    if (ret === 0) return true;
    if (errnoOf(ret) === ENOENT) return false;
    throw new BpfError(`delete from map ${this.name}`, errnoOf(ret));
  }

  /** Every key, by get_next_key (works on every map type that has keys). */
  *keys(): Generator<Buffer> {
    const native = lib();
    let prev: Buffer | null = null;
    for (;;) {
      const next = Buffer.alloc(this.keySize);
      const ret = native.bpf_map_get_next_key(this.checkedFd(), prev, next);
      if (ret !== 0) {
        if (errnoOf(ret) === ENOENT) return;
        throw new BpfError(`iteration of map ${this.name}`, errnoOf(ret));
      }
      yield next;
      prev = next;
    }
  }

  /** All entries: one batch syscall per chunk where the kernel allows, else key by key. */
  entries(): Array<[Buffer, Buffer]> {
    return this.batchEntries() ?? this.iteratedEntries();
  }

  /** Per-CPU values split into one Buffer per CPU. */
  perCpuValues(value: Buffer): Buffer[] {
    const stride = roundUp8(this.valueSize);
    return Array.from({ length: possibleCpuCount() }, (_, cpu) => value.subarray(cpu * stride, cpu * stride + this.valueSize));
  }

  // The kernel reads keySize / valueBufferSize bytes whatever the Buffer's
  // length: a shorter one would hand it the JS heap beyond the Buffer.
  private checkedFd(key?: Buffer, value?: Buffer): number {
    if (this.closed) throw new Error(`cannot use map ${this.name}: its object is closed`);
    if (key && key.length !== this.keySize) {
      throw new TypeError(`map ${this.name} takes ${this.keySize}-byte keys, got ${key.length} bytes`);
    }
    if (value && value.length !== this.valueBufferSize) {
      throw new TypeError(`map ${this.name} takes ${this.valueBufferSize}-byte values, got ${value.length} bytes`);
    }
    return this.fd;
  }

  private iteratedEntries(): Array<[Buffer, Buffer]> {
    const out: Array<[Buffer, Buffer]> = [];
    for (const key of this.keys()) {
      const value = this.lookup(key);
      if (value) out.push([key, value]); // deleted between the two calls: skip
    }
    return out;
  }

  private batchEntries(): Array<[Buffer, Buffer]> | undefined {
    const native = lib();
    const chunk = Math.max(1, Math.min(this.maxEntries, 4096));
    const keys = Buffer.alloc(chunk * this.keySize);
    const values = Buffer.alloc(chunk * this.valueBufferSize);
    // The batch cursor is opaque to us; the kernel wants room for a key (u32 min).
    const cursorSize = Math.max(this.keySize, 4);
    let inBatch: Buffer | null = null;
    const outBatch = Buffer.alloc(cursorSize);
    const out: Array<[Buffer, Buffer]> = [];
    for (;;) {
      const count = [chunk];
      const ret = native.bpf_map_lookup_batch(this.checkedFd(), inBatch, outBatch, keys, values, count, null);
      const errno = ret < 0 ? lastErrno() || errnoOf(ret) : 0;
      if (errno && errno !== ENOENT) {
        if (out.length === 0 && BATCH_UNSUPPORTED.has(errno)) return undefined;
        throw new BpfError(`batch read of map ${this.name}`, errno);
      }
      const got = count[0] ?? 0;
      for (let i = 0; i < got; i++) {
        out.push([
          Buffer.from(keys.subarray(i * this.keySize, (i + 1) * this.keySize)),
          Buffer.from(values.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize)),
        ]);
      }
      // The last chunk comes back as ENOENT with a valid count.
      if (errno === ENOENT) return out;
      inBatch = Buffer.from(outBatch);
    }
  }
}

export const roundUp8 = (n: number): number => (n + 7) & ~7;
