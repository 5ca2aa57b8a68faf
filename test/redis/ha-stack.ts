// The API and in-process workers on a Redis given by URL (a Cluster or a
// Sentinel group), for the high-availability tests. stop() ends them all.
import { startApiServer, type ApiServer } from '../../src/server/api-server.js';
import { startNodeWorker, type NodeWorker } from '../../src/worker/node-worker.js';
import { Client, RETENTION_SECONDS } from '../server/harness.js';

export interface HaStack {
  api: ApiServer;
  admin: Client;
  workers: NodeWorker[];
  stop(): Promise<void>;
}

export async function startHaStack(redisUrl: string, nodes: string[]): Promise<HaStack> {
  let api: ApiServer | undefined;
  const workers: NodeWorker[] = [];
  const stop = async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await api?.stop();
    api = undefined;
  };
  try {
    api = await startApiServer({ redisUrl, port: 0, host: '127.0.0.1', retentionSeconds: RETENTION_SECONDS });
    const { secret } = await api.tokens.create('test-admin', ['admin'], 'test');
    for (const node of nodes) workers.push(await startNodeWorker({ redisUrl, node, labels: { role: 'ha-test' }, retentionSeconds: RETENTION_SECONDS }));
    return { api, admin: new Client(api.url, secret), workers, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A 1 s capture that needs no BPF (it samples cgroup cpu.stat), on `nodes`. */
export const cgroupRun = (nodes: string[], duration = '1s') => ({ steps: [{ capture: 'cputhrottle' }], duration, targets: { nodes } });
