// The fleet simulation's baseline child: plain BullMQ workers, one per node
// queue (BullMQ's defaults), each recording when it started a job and holding
// it for the window. Prints "ready"; SIGTERM stops them. Args: <redisUrl> <from> <count> <windowMs>.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BASELINE_STARTED, baselineQueue } from './fleet-sim-baseline.js';

const [redisUrl, from, count, windowMs] = process.argv.slice(2);
const connection = new Redis(redisUrl!, { maxRetriesPerRequest: null });
const workers: Worker[] = [];
const stop = async () => {
  await Promise.allSettled(workers.map((w) => w.close()));
  connection.disconnect();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
for (let i = Number(from); i < Number(from) + Number(count); i++) {
  const worker = new Worker(
    baselineQueue(i),
    async (job) => {
      await connection.hset(BASELINE_STARTED, job.id!, Date.now());
      await new Promise((r) => setTimeout(r, Number(windowMs)));
    },
    { connection, concurrency: 1 },
  );
  worker.on('error', () => {});
  workers.push(worker);
  await worker.waitUntilReady();
}
process.stdout.write('ready\n');
