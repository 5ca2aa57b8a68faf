// REDIS_URL in its three forms, and the one-line errors for the wrong ones.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadServerConfig } from '../../src/config/server-config.js';
import { parseRedisTarget, printableRedisTarget } from '../../src/redis/target.js';

describe('REDIS_URL', () => {
  it('takes one Redis, a Cluster (seed nodes) and a Sentinel group (master name), with credentials and TLS', () => {
    expect(parseRedisTarget('redis://127.0.0.1:6379')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379', tls: false });
    expect(parseRedisTarget('rediss://sherlock-api:p%40ss@redis.example:6380/2')).toMatchObject({
      kind: 'single',
      tls: true,
      username: 'sherlock-api',
      password: 'p@ss',
    });
    expect(parseRedisTarget('redis+cluster://:secret@10.0.0.1:7000,10.0.0.2,[::1]:7002')).toEqual({
      kind: 'cluster',
      tls: false,
      password: 'secret',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 6379 },
        { host: '::1', port: 7002 },
      ],
    });
    expect(parseRedisTarget('rediss+sentinel://w:pw@s1:26380,s2/mymaster?sentinelPassword=sp')).toEqual({
      kind: 'sentinel',
      tls: true,
      username: 'w',
      password: 'pw',
      sentinels: [
        { host: 's1', port: 26380 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      sentinelPassword: 'sp',
    });
  });

  it('refuses what it cannot use, saying what is allowed', () => {
    const problem = (url: string) => {
      try {
        loadServerConfig({ redis: url }, {});
        return 'accepted';
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
    };
    expect(problem('http://x:1')).toMatch(/^redisUrl: REDIS_URL "http:\/\/x:1" is not one of redis:\/\/.*redis\+cluster:\/\/.*redis\+sentinel:\/\//);
    expect(problem('redis+sentinel://s1:26379')).toMatch(/needs the master name/);
    expect(problem('redis+cluster://a:7000,b:99999')).toMatch(/"b:99999" is not host:port/);
    expect(problem('redis+cluster://a:7000/3')).toMatch(/only database 0/);
    expect(problem('redis+sentinel://s1/m?foo=1')).toMatch(/unknown option "foo"; allowed: sentinelUsername, sentinelPassword/);
    expect(problem('redis+cluster://:hunter2@a:7000,b:99999')).not.toContain('hunter2');
    expect(problem('redis://127.0.0.1:6379')).toBe('accepted');
  });

  it('prints without passwords', () => {
    expect(printableRedisTarget('redis+sentinel://u:pw@s1,s2/m?sentinelPassword=sp')).toBe('redis+sentinel://u:***@s1,s2/m?sentinelPassword=***');
    expect(printableRedisTarget('redis://:pw@h:1')).toBe('redis://:***@h:1');
    expect(printableRedisTarget('redis://h:1')).toBe('redis://h:1');
  });
});
