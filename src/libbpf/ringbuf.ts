// A BPF ring buffer read straight from its memory mapping: no FFI call per
// event. Programs submit with BPF_RB_NO_WAKEUP and we drain on a short timer,
// which costs nothing per event (kernel wakeups cost ~17 µs each here).
// Layout (kernel/bpf/ringbuf.c): page 0 is the consumer position (ours, RW);
// then the producer position page and the data area, mapped twice in a row so
// a record that wraps reads as one contiguous slice.
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

/** Called once per record with a view of it; copy what you keep. */
export type RecordHandler = (data: Buffer) => void;

export class RingBufferReader {
  private readonly pageSize = Number(lib().sysconf(SC_PAGESIZE));
  private readonly size: number;
  private consumerPtr: unknown;
  private producerPtr: unknown;
  private consumer: BigUint64Array;
  private producer: BigUint64Array;
  private data: Buffer;
  private closed = false;
  /** Records handed to handlers since open. */
  consumed = 0;

  constructor(readonly map: BpfMap) {
    if (map.type !== 'ringbuf') throw new TypeError(`map ${map.name} is a ${map.type}, not a ringbuf`);
    if (map.isClosed) throw new Error(`cannot read ring buffer ${map.name}: its object is closed`);
    this.size = map.maxEntries;
    const native = lib();
    this.consumerPtr = mapOrThrow(native.mmap(null, this.pageSize, PROT_READ | PROT_WRITE, MAP_SHARED, map.fd, 0), map);
    const producerLength = this.pageSize + 2 * this.size;
    const producerPtr = native.mmap(null, producerLength, PROT_READ, MAP_SHARED, map.fd, this.pageSize);
    if (producerPtr === MAP_FAILED) {
      const errno = lastErrno();
      native.munmap(this.consumerPtr, this.pageSize);
      throw new BpfError(`mmap of ring buffer ${map.name}`, errno);
    }
    this.producerPtr = producerPtr;
    this.consumer = new BigUint64Array(koffi.view(this.consumerPtr, 8));
    const producerArea = koffi.view(producerPtr, producerLength);
    this.producer = new BigUint64Array(producerArea, 0, 1);
    this.data = Buffer.from(producerArea, this.pageSize, 2 * this.size);
  }

  /** Hands every complete record to `handle`; returns how many. */
  drain(handle: RecordHandler): number {
    if (this.closed) return 0;
    let consumerPos = readPosition(this.consumer);
    const producerPos = readPosition(this.producer);
    let handled = 0;
    while (consumerPos < producerPos) {
      const offset = consumerPos % this.size; // size is a power of two
      const header = this.data.readUInt32LE(offset);
      if (header & BUSY_BIT) break; // still being written; next drain gets it
      const length = header & ~(BUSY_BIT | DISCARD_BIT);
      consumerPos += (length + HEADER_SIZE + 7) & ~7;
      if (!(header & DISCARD_BIT)) {
        handle(this.data.subarray(offset + HEADER_SIZE, offset + HEADER_SIZE + length));
        handled++;
      }
      // Publish as we go so the producer gets room back during long drains.
      if ((handled & 255) === 0) writePosition(this.consumer, consumerPos);
    }
    writePosition(this.consumer, consumerPos);
    this.consumed += handled;
    return handled;
  }

  /** Bytes written but not yet consumed. */
  pending(): number {
    return this.closed ? 0 : readPosition(this.producer) - readPosition(this.consumer);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const native = lib();
    native.munmap(this.producerPtr, this.pageSize + 2 * this.size);
    native.munmap(this.consumerPtr, this.pageSize);
  }
}

function mapOrThrow(ptr: unknown, map: BpfMap): unknown {
  if (ptr === MAP_FAILED) throw new BpfError(`mmap of ring buffer ${map.name}`, lastErrno());
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
