#!/usr/bin/env node
// signup-api: an HTTP service whose e-mail check backtracks on input that
// almost matches (a ReDoS); its own load generator sends such addresses.
// argv: port, seconds. Runs as node (no --perf-basic-prof).
import http from 'node:http';
import { setTimeout } from 'node:timers';
const [port, seconds] = process.argv.slice(2).map(Number);

// Nested quantifiers: exponential on "aaaa...a@" followed by a bad character.
const EMAIL = /^([a-zA-Z0-9]+\.?)+@example\.com$/;
function isValidEmail(address) {
  return EMAIL.test(address);
}

const server = http.createServer((req, res) => {
  const address = decodeURIComponent(req.url.slice(1));
  res.end(isValidEmail(address) ? 'ok\n' : 'invalid\n');
});
server.listen(port, '127.0.0.1', () => {
  const bad = encodeURIComponent('a'.repeat(22) + '!@example.com');
  const send = () => http.get({ host: '127.0.0.1', port, path: `/${bad}` }, (r) => r.resume().on('end', () => setTimeout(send, 5))).on('error', () => {});
  send();
});
setTimeout(() => process.exit(0), seconds * 1000);
