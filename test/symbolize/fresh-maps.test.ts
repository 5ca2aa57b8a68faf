// Stacks are unwound after the samples arrive, sometimes after the process
// exited: code it mapped after it was first noted (libraries loaded late, JIT
// code) must be in the maps held by then. noteCode, called as each sample
// arrives, re-reads the maps when the sampled address is not in them.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { createSymbolizer } from '../../src/symbolize/index.js';

// Maps an anonymous executable page when told to, prints its address, then waits to be told to exit.
const LATE_CODE_PY = String.raw`
import ctypes, mmap, sys
print("ready", flush=True)
sys.stdin.readline()
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
print(ctypes.addressof(ctypes.c_char.from_buffer(page)), flush=True)
sys.stdin.readline()
`;

describe('maps re-read for sampled code they do not hold', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it('finds code mapped after the first note, once the process has exited', async () => {
    child = spawn('python3', ['-c', LATE_CODE_PY], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await lines.next()).value).toBe('ready');
    const pid = child.pid!;

    const sampled = createSymbolizer(); // sees the sample's address while the process lives
    const notedOnly = createSymbolizer(); // only the first note, as before
    try {
      sampled.notePid(pid);
      notedOnly.notePid(pid);
      child.stdin!.write('map\n');
      const addr = Number((await lines.next()).value);
      expect(addr).toBeGreaterThan(0);
      // A miss re-reads the maps at most every 20 ms (SAMPLE_REFRESH_MS): the mapping and its print can come sooner.
      await new Promise((resolve) => setTimeout(resolve, 25));
      sampled.noteCode(pid, addr + 16);

      child.stdin!.write('exit\n');
      await once(child, 'exit');
      // Gone now: nothing can be re-read, only what was held answers.
      expect(sampled.codeAt(pid, addr + 16)).toMatchObject({ fileBacked: false });
      expect(notedOnly.codeAt(pid, addr + 16)).toBeUndefined();
    } finally {
      sampled.close();
      notedOnly.close();
    }
  });
});
