// One child of the fleet simulation: several of Sherlock's own node workers
// (startNodeWorker) in one process against one Redis. Prints "ready" once all
// are up; SIGTERM stops them all. Args: <redisUrl> <prefix> <from> <count>.
import { startNodeWorker, type NodeWorker } from '../src/worker/node-worker.js';

const [redisUrl, prefix, from, count] = process.argv.slice(2);
const workers: NodeWorker[] = [];
const stop = async () => {
  await Promise.allSettled(workers.map((w) => w.stop()));
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
// A few at a time: one by one, 250 workers took ~100 s to start at load ~10.
const START_AT_ONCE = 25;
const end = Number(from) + Number(count);
for (let i = Number(from); i < end; i += START_AT_ONCE) {
  const batch = Array.from({ length: Math.min(START_AT_ONCE, end - i) }, (_, k) =>
    startNodeWorker({ redisUrl: redisUrl!, node: `${prefix}-${i + k}`, labels: { sim: 'fleet' }, retentionSeconds: 600 }),
  );
  workers.push(...(await Promise.all(batch)));
}
process.stdout.write('ready\n');
