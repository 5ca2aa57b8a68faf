#!/usr/bin/env node
// branch-api: an HTTP service that shells out on every request and waits for
// the command (execSync): node's event loop stands still meanwhile, so every
// request queues behind the one running. Its load generator is a child process
// (8 clients, keep-alive). argv: port, seconds, counter file: the time spent
// in execSync so far, in ms.
import http from 'node:http';
import { execSync, spawn } from 'node:child_process';
import { writeFileSync, renameSync } from 'node:fs';
import { setTimeout } from 'node:timers';
import { performance } from 'node:perf_hooks';

const [mode, port, seconds, counter] = process.argv.slice(2);

if (mode === 'load') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const loop = () => http.get({ host: '127.0.0.1', port: Number(port), agent }, (r) => r.resume().on('end', loop)).on('error', () => setTimeout(loop, 100));
  for (let i = 0; i < 8; i++) loop();
} else {
  let waitedMs = 0;
  const currentBranch = () => {
    const start = performance.now();
    const branch = execSync('sleep 0.05; echo main').toString().trim();
    waitedMs += performance.now() - start;
    writeFileSync(`${counter}.tmp`, `${waitedMs.toFixed(1)}\n`);
    renameSync(`${counter}.tmp`, counter);
    return branch;
  };
  http
    .createServer((req, res) => res.end(currentBranch()))
    .listen(Number(port), '127.0.0.1', () => {
      const load = spawn(process.execPath, [process.argv[1], 'load', port], { stdio: 'ignore' });
      process.on('exit', () => load.kill());
    });
  setTimeout(() => process.exit(0), Number(seconds) * 1000);
}
