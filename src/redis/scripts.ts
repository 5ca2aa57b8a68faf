// Lua scripts run by their SHA1 (EVALSHA): Redis then neither receives nor
// hashes the body on each call, which is most of a small script's cost when
// thousands of idle workers heartbeat. The body is sent once, when Redis does
// not know it yet (a restart or SCRIPT FLUSH answers NOSCRIPT).
import { createHash } from 'node:crypto';
import type { RedisClient } from './connection.js';

const shas = new Map<string, string>();

export async function evalScript(redis: RedisClient, script: string, keys: string[], args: (string | number | Buffer)[]): Promise<unknown> {
  let sha = shas.get(script);
  if (!sha) shas.set(script, (sha = createHash('sha1').update(script).digest('hex')));
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return redis.eval(script, keys.length, ...keys, ...args);
  }
}
