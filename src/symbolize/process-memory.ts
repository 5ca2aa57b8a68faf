// Reads another process's memory through /proc/PID/mem (root or ptrace
// access): the pages a profiler reads are the interpreter's objects, read
// while the process lives.
import { closeSync, openSync, readSync } from 'node:fs';

export class ProcessMemory {
  private fd: number | undefined;

  /** Opens now: the process's memory stays readable through the descriptor while it lives. */
  constructor(readonly pid: number) {
    this.open();
  }

  private open(): void {
    try {
      this.fd = openSync(`/proc/${this.pid}/mem`, 'r');
    } catch {
      this.fd = undefined;
    }
  }

  /** `length` bytes at `addr`, or undefined when they cannot be read (unmapped, process gone). */
  read(addr: bigint, length: number): Buffer | undefined {
    if (addr <= 0n || addr > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    if (this.fd === undefined) this.open();
    if (this.fd === undefined) return undefined;
    const out = Buffer.alloc(length);
    try {
      let done = 0;
      while (done < length) {
        const n = readSync(this.fd, out, done, length - done, Number(addr) + done);
        if (n <= 0) return undefined;
        done += n;
      }
      return out;
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
