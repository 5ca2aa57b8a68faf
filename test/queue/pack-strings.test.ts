// A run's script arguments travel as one msgpack array (src/queue/pack-strings.ts):
// Redis' own cmsgpack must read back every string exactly, multi-byte text and
// raw bytes (BullMQ's packed arguments) included, empty and long ones too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packStrings } from '../../src/queue/pack-strings.js';
import { connectRedis, type RedisClient } from '../../src/redis/connection.js';
import { redisServerChildren, startTestRedis, type TestRedis } from '../helpers/redis.js';

describe('strings packed for a Lua script', () => {
  let server: TestRedis;
  let conn: RedisClient;

  beforeAll(async () => {
    server = await startTestRedis();
    conn = connectRedis(server.url, 'pack-strings-test');
  });

  afterAll(async () => {
    conn?.disconnect();
    await server?.dispose();
    expect(redisServerChildren()).toEqual([]);
  });

  it('are read back by cmsgpack.unpack byte for byte', async () => {
    const raw = Buffer.from([0x00, 0xc4, 0xff, 0x80, 0xdb, 0x0a]);
    const items = ['', 'run-queued', 'slack:Ünïcode — 東京 🚀', 'x'.repeat(70_000), raw];
    const back = (await conn.callBuffer('EVAL', ['return cmsgpack.unpack(ARGV[1])', 0, packStrings(items)])) as Buffer[];
    expect(back).toHaveLength(items.length);
    back.forEach((b, i) => expect(b.equals(Buffer.isBuffer(items[i]) ? items[i] : Buffer.from(items[i] as string, 'utf8'))).toBe(true));
  });

  it('an empty list is an empty array', async () => {
    expect(await conn.eval('return #cmsgpack.unpack(ARGV[1])', 0, packStrings([]))).toBe(0);
  });
});
