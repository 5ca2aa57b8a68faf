// render-api: renders reports one after another, each from 20,000 short-lived
// objects, while a cache of 400,000 objects stays live: V8 scavenges the young
// generation again and again and marks the old one, and JavaScript waits while
// it does. Runs argv[3] seconds; keeps in file argv[2] the time the main
// thread spent in GC pauses so far, in ms (node's own "gc" performance entries).
const { PerformanceObserver } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

process.title = 'render-api';
const [counter, seconds] = [process.argv[2], Number(process.argv[3])];
let pausedMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pausedMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

const cache = [];
for (let i = 0; i < 400_000; i++) cache.push({ id: i, name: `item${i}`, tags: [i % 7, i % 11] });

function render(n) {
  const rows = [];
  for (let i = 0; i < 20_000; i++) rows.push({ n, i, label: `row${i}`, at: [i, n] });
  cache[(n * 7919) % cache.length] = { id: n, name: `item${n}`, tags: rows.slice(0, 2) };
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
