// A BPF ring buffer read from its memory mapping. Programs submit with
// BPF_RB_NO_WAKEUP and we drain on a timer (src/captures/drain-clock.ts),
// which costs nothing per event (kernel wakeups cost ~17 µs each here).
// Layout (kernel/bpf/ringbuf.c): page 0 is the consumer position (ours, RW);
// then the producer position page and the data area.
// The data area is copied out (memcpy) into a reused buffer rather than read
// through a view of the mapping: V8 counts a view's whole length as external
// memory, so mapping a 16 MiB ring forced GCs (~10 ms of event-loop stall) at
// every capture start. Only two 8-byte views remain.
import { BpfError } from './errors.js';
import type { BpfMap } from './map.js';
import { koffi, lastErrno, lib } from './native.js';

const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const SC_PAGESIZE = 30;
const MAP_FAILED = 0xffffffffffffffffn;
const BUSY_BIT = 0x80000000;
const DISCARD_BIT = 0x40000000;
const HEADER_SIZE = 8;
/** Bytes copied out per step; a larger record grows the buffer to fit it. */
const COPY_CHUNK_BYTES = 256 * 1024;

export interface RingBufferReaderOptions {
  /** Bytes copied out per step (tests make it small to cross record boundaries). */
  copyChunkBytes?: number;
}

/** The fullest any ring of this process was at a drain's start since the last take: the drain clock's pace (drain-clock.ts). */
let fullestFill = 0;
/** Pending bytes over ring size, 0-1, of the fullest ring seen by a drain since the last call (0: no drain found a record). */
export function takeFullestFill(): number {
  const fill = fullestFill;
  fullestFill = 0;
  return fill;
}

/** Called once per record with a view of it, valid during the call only; copy what you keep. */
export type RecordHandler = (data: Buffer) => void;

export class RingBufferReader {
  private readonly pageSize = Number(lib().sysconf(SC_PAGESIZE));
  private readonly size: number;
  private consumerPtr: unknown;
  private producerPtr: unknown;
  private readonly dataAddress: number;
  private consumer: BigUint64Array;
  private producer: BigUint64Array;
  private scratch: Buffer | undefined;
  private closed = false;
  private readonly chunk: number;
  /** Records handed to handlers since open. */
  consumed = 0;

  constructor(
    readonly map: BpfMap,
    options: RingBufferReaderOptions = {},
  ) {
    this.chunk = options.copyChunkBytes ?? COPY_CHUNK_BYTES;
    if (map.type !== 'ringbuf') throw new TypeError(`map ${map.name} is a ${map.type}, not a ringbuf`);
    if (map.isClosed) throw new Error(`cannot read ring buffer ${map.name}: its object is closed`);
    this.size = map.maxEntries;
    const native = lib();
    this.consumerPtr = mapOrThrow(native.mmap(null, this.pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0), map);
    // The data area once (the kernel allows it twice in a row; a wrapping record is copied in two parts instead).
    const producerPtr = native.mmap(null, this.pageSize + this.size, PROT_READ, MAP_SHARED, map.fd, this.pageSize);
    if (mapFailed(producerPtr)) {
      const errno = lastErrno();
      native.munmap(this.consumerPtr, this.pageSize);
      throw new BpfError(`mmap of ring buffer ${map.name}`, errno);
    }
    this.producerPtr = producerPtr;
    this.consumer = new BigUint64Array(koffi.view(this.consumerPtr, 8));
    this.producer = new BigUint64Array(koffi.view(producerPtr, 8));
    this.dataAddress = Number(koffi.address(producerPtr)) + this.pageSize;
  }

  /**
   * Hands every complete record to `handle`; returns how many. With `until`
   * (a performance.now() time) it stops at the first chunk boundary past it,
   * leaving the rest in the ring for the next drain.
   */
  drain(handle: RecordHandler, until = Infinity): number {
    if (this.closed) return 0;
    let consumerPos = readPosition(this.consumer);
    const producerPos = readPosition(this.producer);
    if (producerPos > consumerPos) fullestFill = Math.max(fullestFill, (producerPos - consumerPos) / this.size);
    let handled = 0;
    while (consumerPos < producerPos) {
      const want = Math.min(producerPos - consumerPos, Math.max(this.chunk, this.scratch?.length ?? 0));
      const scratch = this.copyOut(consumerPos, want);
      const { end, stop } = committedPrefix(scratch, want);
      if (end === 0) {
        if (stop) break; // the next record is still being written; next drain gets it
        this.grow(recordStep(scratch.readUInt32LE(0))); // one record larger than the buffer
        continue;
      }
      // Again, now that those headers were seen committed: what memcpy read of a
      // record's data before its header (it may copy out of order) is read anew.
      this.copyOut(consumerPos, end);
      for (let offset = 0; offset < end; ) {
        const header = scratch.readUInt32LE(offset);
        const length = header & ~(BUSY_BIT | DISCARD_BIT);
        if (!(header & DISCARD_BIT)) {
          handle(scratch.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length));
          handled++;
        }
        offset += recordStep(header);
      }
      consumerPos += end;
      // Published per chunk, so the producer gets room back during long drains.
      writePosition(this.consumer, consumerPos);
      if (stop || performance.now() >= until) break;
    }
    this.consumed += handled;
    return handled;
  }

  /** Where the producer is now (bytes since the ring was made): a mark to drain up to. */
  producerPosition(): number {
    return this.closed ? 0 : readPosition(this.producer);
  }

  /** Where the reader is (bytes since the ring was made). */
  consumerPosition(): number {
    return this.closed ? 0 : readPosition(this.consumer);
  }

  /** Bytes written but not yet consumed. */
  pending(): number {
    return this.closed ? 0 : readPosition(this.producer) - readPosition(this.consumer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const native = lib();
    native.munmap(this.producerPtr, this.pageSize + this.size);
    native.munmap(this.consumerPtr, this.pageSize);
    this.scratch = undefined;
  }

  /** Copies `length` bytes of the data area from position `pos` (wrapping) to the start of the buffer. */
  private copyOut(pos: number, length: number): Buffer {
    const scratch = this.scratch ?? this.grow(Math.min(this.chunk, this.size));
    const offset = pos % this.size; // size is a power of two
    const first = Math.min(length, this.size - offset);
    const copy = lib().memcpy_from;
    copy(scratch, this.dataAddress + offset, first);
    if (first < length) copy(scratch.subarray(first), this.dataAddress, length - first);
    return scratch;
  }

  private grow(bytes: number): Buffer {
    let size = this.scratch?.length ?? 8;
    while (size < bytes) size *= 2;
    if (!this.scratch || size > this.scratch.length) this.scratch = Buffer.allocUnsafeSlow(Math.min(size, this.size));
    return this.scratch;
  }
}

/** Bytes a record takes in the ring: header and data, 8-aligned. */
function recordStep(header: number): number {
  return ((header & ~(BUSY_BIT | DISCARD_BIT)) + HEADER_SIZE + 7) & ~7;
}

/**
 * Bytes of whole, committed records at the start of `buffer` (of `length`
 * copied), and whether a record still being written stops the drain there.
 */
function committedPrefix(buffer: Buffer, length: number): { end: number; stop: boolean } {
  let end = 0;
  while (end + HEADER_SIZE <= length) {
    const header = buffer.readUInt32LE(end);
    if (header & BUSY_BIT) return { end, stop: true };
    const step = recordStep(header);
    if (end + step > length) break; // continues past this copy
    end += step;
  }
  return { end, stop: false };
}

const mapFailed = (ptr: unknown) => ptr === null || koffi.address(ptr) === MAP_FAILED;

function mapOrThrow(ptr: unknown, map: BpfMap): unknown {
  if (mapFailed(ptr)) throw new BpfError(`mmap of ring buffer ${map.name}`, lastErrno());
  return ptr;
}

// Positions are u64, stored whole (one atomic 64-bit access) so the kernel
// never sees a torn value; as doubles they stay exact up to 8 PiB.
function readPosition(word: BigUint64Array): number {
  return Number(Atomics.load(word, 0));
}

function writePosition(word: BigUint64Array, pos: number): void {
  Atomics.store(word, 0, BigInt(pos));
}
