// render-api: renders reports one after another, each from 20,000 short-lived
// objects, while a cache of 400,000 objects stays live: V8 scavenges the young
// generation again and again and marks the old one, and JavaScript waits while
// it does. Runs argv[3] seconds; keeps in file argv[2] the time the main
// thread spent in GC pauses so far, in ms (node's own "gc" performance entries).
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import process from 'node:process';
import { setImmediate } from 'node:timers';

process.title = 'render-api';
const [counter, seconds] = [process.argv[2], Number(process.argv[3])];
let pausedMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pausedMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const cache = [];
for (let i = 0; i < 400_000; i++) cache.push({ id: i, name: `item${i}`, tags: [i % 7, i % 11] });

const rows = new Array(20_000);
function render(n) {
  for (let i = 0; i < rows.length; i++) rows[i] = { n, i, label: `row${i}`, at: [i, n] };
  for (let i = 0; i < 200; i++) cache[(n * 7919 + i * 104_729) % cache.length] = rows[i * 100];
  return rows.length;
}

const end = Date.now() + seconds * 1000;
let n = 0;
(function next() {
  if (Date.now() > end) process.exit(0);
  render(n++);
  writeFileSync(counter, String(pausedMs));
  setImmediate(next);
})();
