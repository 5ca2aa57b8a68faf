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
for (let i = Number(from); i < Number(from) + Number(count); i++) {
  workers.push(await startNodeWorker({ redisUrl: redisUrl!, node: `${prefix}-${i}`, labels: { sim: 'fleet' }, retentionSeconds: 600 }));
}
process.stdout.write('ready\n');
