// A bind refused because the port is taken, on the real kernel: this process
// listens on 127.0.0.1:PORT; a child asks for 0.0.0.0:PORT and gets
// EADDRINUSE. The row keeps the address asked for (the socket never had it)
// and names the listener's owner, and the finding says who holds the port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { mergeThresholds } from '../../src/analysis/common.js';
import { syscallerrors, type SyscallerrorsData } from '../../src/captures/syscallerrors/index.js';
import { normalReason } from '../../src/captures/syscallerrors/errnos.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';

const skip = kernelSkipReason();
const myComm = readFileSync('/proc/self/comm', 'utf8').trim();

/** Binds 0.0.0.0:port, `times` times, each on a new socket; exits 0 when every one was refused. */
const BINDER = `import errno, socket, sys
port, times = int(sys.argv[1]), int(sys.argv[2])
for _ in range(times):
    s = socket.socket()
    try: s.bind(('0.0.0.0', port)); sys.exit(1)
    except OSError as e:
        if e.errno != errno.EADDRINUSE: raise
    finally: s.close()`;

describe("a socket's peer asked of a socket that has none", () => {
  it('is a probe (Python asks it to print a socket), not a failure', () => {
    expect(normalReason('getpeername', 'ENOTCONN', undefined, undefined)).toBeTruthy();
  });
});

describe.skipIf(skip)(`a bind to a taken port, on the real kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  afterEach(() => {
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  it('keeps the address asked for and names who listens on the port', async () => {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    try {
      let binder = 0;
      const { result } = await captureAround(syscallerrors, async () => {
        const child = spawn('/usr/bin/python3', ['-c', BINDER, String(port), '20'], { stdio: 'ignore' });
        binder = child.pid!;
        const [code] = (await once(child, 'exit')) as [number];
        expect(code).toBe(0);
      });
      const rows = result.rows.filter((r) => r.pid === binder && r.syscall === 'bind');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        errno: 'EADDRINUSE',
        count: 20,
        asked: `0.0.0.0:${port}`,
        portHolder: { pid: process.pid, comm: myComm, listener: `127.0.0.1:${port}` },
      });
      const { findings } = syscallerrors.analysis!.analyze(result as unknown as SyscallerrorsData as never, {
        node: 'n1',
        capture: 'syscallerrors',
        file: 'nodes/n1/syscallerrors.json',
        thresholds: mergeThresholds(),
        windowSeconds: result.durationMs / 1000,
      });
      const bind = findings.find((f) => f.evidence.syscall === 'bind');
      expect(bind?.title).toContain(`it asked for 0.0.0.0:${port} and port ${port} is taken: ${myComm} (pid ${process.pid}) listens on 127.0.0.1:${port}`);
    } finally {
      server.close();
    }
  });
});
