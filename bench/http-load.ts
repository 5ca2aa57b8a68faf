// A lean HTTP/1.1 load generator, as wrk is: N keep-alive sockets, each
// sending one prebuilt request and the next when its answer is complete. On
// these 2 shared CPUs node's http client spent 120-150 µs of CPU a request
// beside the server it measured; raw sockets spend a fraction of that, so the
// figure is more the server's and less the generator's.
import net from 'node:net';
import { percentile } from './report.js';

export interface LoadConfig {
  url: string;
  token?: string;
  body: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadReport {
  /** Requests answered inside the measured window, by status. */
  statuses: Record<string, number>;
  errors: number;
  measuredMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU time of the load generator itself over the window. */
  clientCpuMs: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CHUNKED_END = Buffer.from('0\r\n\r\n');

/** Where the answer at the start of `buf` ends and its status, or undefined while it is incomplete. */
export function parseAnswer(buf: Buffer): { status: number; length: number } | undefined {
  const head = buf.indexOf(HEADER_END);
  if (head < 0) return undefined;
  const header = buf.toString('latin1', 0, head);
  const status = Number(header.slice(9, 12));
  const length = /\r\ncontent-length:\s*(\d+)/i.exec(header);
  if (length) {
    const end = head + 4 + Number(length[1]);
    return buf.length >= end ? { status, length: end } : undefined;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(header)) {
    const end = buf.indexOf(CHUNKED_END, head + 4);
    return end < 0 ? undefined : { status, length: end + CHUNKED_END.length };
  }
  return { status, length: head + 4 }; // no body (204, 304)
}

/** N keep-alive clients, each sending the next POST when the last is answered; bounded by time. */
export async function runLoad(cfg: LoadConfig): Promise<LoadReport> {
  const url = new URL(cfg.url);
  const body = Buffer.from(cfg.body);
  const request = Buffer.concat([
    Buffer.from(
      `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n${cfg.token ? `Authorization: Bearer ${cfg.token}\r\n` : ''}\r\n`,
    ),
    body,
  ]);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const measureFrom = t0 + cfg.warmupMs;
  const measureTo = measureFrom + cfg.durationMs;
  let cpuStart: NodeJS.CpuUsage | undefined;

  const client = () =>
    new Promise<void>((resolve) => {
      const socket = net.connect(Number(url.port), url.hostname);
      socket.setNoDelay(true);
      let pending: Buffer = Buffer.alloc(0);
      let start = 0;
      let done = false;
      const send = () => {
        start = performance.now();
        done = start >= measureTo;
        if (done) return void socket.end();
        if (start >= measureFrom && !cpuStart) cpuStart = process.cpuUsage();
        socket.write(request);
      };
      const timer = setTimeout(() => socket.destroy(new Error('timeout')), measureTo - t0 + 10_000);
      socket.on('connect', send);
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        const answer = parseAnswer(pending);
        if (!answer) return;
        pending = pending.subarray(answer.length);
        const end = performance.now();
        if (start >= measureFrom && end <= measureTo) {
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          latencies.push(end - start);
        }
        send();
      });
      socket.on('error', () => errors++);
      socket.on('close', (hadError) => {
        if (!done && !hadError) errors++; // the server closed it early: this client sends no more
        clearTimeout(timer);
        resolve();
      });
    });

  await Promise.all(Array.from({ length: cfg.concurrency }, client));
  const cpu = process.cpuUsage(cpuStart);
  return {
    statuses,
    errors,
    measuredMs: cfg.durationMs,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.length ? Math.max(...latencies) : Number.NaN,
    clientCpuMs: (cpu.user + cpu.system) / 1000,
  };
}
