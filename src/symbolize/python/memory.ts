// Reads another process's memory through /proc/PID/mem (root or ptrace
// access): the pages a profiler reads are the interpreter's objects, read
// while the process lives.
import { closeSync, openSync, readSync } from 'node:fs';

export class ProcessMemory {
  private fd: number | undefined;
  private failed = false;

  constructor(readonly pid: number) {}

  /** `length` bytes at `addr`, or undefined when they cannot be read (unmapped, process gone). */
  read(addr: bigint, length: number): Buffer | undefined {
    if (this.failed || addr <= 0n || addr > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    if (this.fd === undefined) {
      try {
        this.fd = openSync(`/proc/${this.pid}/mem`, 'r');
      } catch {
        this.failed = true;
        return undefined;
      }
    }
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
