// A child process that times TCP connects, for tests that need a process of
// their own to target (by pid) while they inject latency: each `batch()`
// makes `count` connects to host:port, one after the other, and resolves with
// each one's time as the client saw it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Connect {
  ms: number;
  error?: string;
}

export interface ConnectClient {
  child: ChildProcess;
  batch(): Promise<Connect[]>;
  /** SIGKILL if still running. */
  kill(): void;
}

export function startConnectClient(host: string, port: number, count: number): ConnectClient {
  const script = `
    const net = require('net');
    const readline = require('readline');
    const once = () => new Promise((resolve) => {
      const start = process.hrtime.bigint();
      const s = net.connect({ host: ${JSON.stringify(host)}, port: ${port} });
      const done = (error) => { clearTimeout(t); s.destroy(); resolve({ ms: Number(process.hrtime.bigint() - start) / 1e6, error }); };
      const t = setTimeout(() => done('timeout'), 5000);
      s.once('connect', () => done());
      s.once('error', (e) => done(e.code || 'error'));
    });
    readline.createInterface({ input: process.stdin }).on('line', async () => {
      const results = [];
      for (let i = 0; i < ${count}; i++) results.push(await once());
      process.stdout.write(JSON.stringify(results) + '\\n');
    }).on('close', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  return {
    child,
    batch: () =>
      new Promise<Connect[]>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`the client exited (${code}) before its results`));
        child.once('exit', onExit);
        lines.once('line', (line) => {
          child.off('exit', onExit);
          resolve(JSON.parse(line) as Connect[]);
        });
        child.stdin!.write('go\n');
      }),
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
