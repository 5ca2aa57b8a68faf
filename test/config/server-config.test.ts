// The settings of `sherlock up | api | worker`: flags over environment over
// defaults; every bad value is its own line, saying what was given and what is allowed.
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_STATE_DIR, loadServerConfig } from '../../src/config/server-config.js';

const problems = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
  try {
    loadServerConfig(flags, env);
    return [];
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message.split('\n');
  }
};

describe('server settings', () => {
  it('defaults what is not given, and flags win over the environment', () => {
    const config = loadServerConfig({ node: 'n1' }, {});
    expect(config).toMatchObject({
      port: 7070,
      host: '127.0.0.1',
      stateDir: DEFAULT_STATE_DIR,
      retentionDays: 7,
      retentionSeconds: 7 * 86_400,
      node: 'n1',
      labels: {},
      falcoRules: [],
      warm: 'all',
    });
    expect(config.redisUrl).toBeUndefined();
    expect(config.adminToken).toBeUndefined();
    const env = {
      SHERLOCK_PORT: '8080',
      SHERLOCK_RETENTION_DAYS: '1.5',
      SHERLOCK_LABELS: 'zone=a,rack=7',
      SHERLOCK_FALCO_RULES: '/a.yaml: /b',
      SHERLOCK_CONFIG: ' /etc/s.yaml ',
      SHERLOCK_WARM: ' none ',
    };
    expect(loadServerConfig({ port: '9090' }, env)).toMatchObject({
      port: 9090,
      retentionSeconds: 1.5 * 86_400,
      labels: { zone: 'a', rack: '7' },
      falcoRules: ['/a.yaml', '/b'],
      configFile: '/etc/s.yaml',
      warm: 'none',
    });
    expect(loadServerConfig({ redis: 'redis://127.0.0.1:6379' }, { SHERLOCK_ADMIN_TOKEN: 'x'.repeat(16) })).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      adminToken: 'x'.repeat(16),
    });
  });

  it('refuses each bad value with what was given and what is allowed, all at once', () => {
    expect(
      problems({ port: '70000', 'retention-days': 'a week', node: 'Bad Name', host: '' }, { SHERLOCK_ADMIN_TOKEN: 'short', SHERLOCK_CONFIG: ' ' }),
    ).toEqual([
      'port: port must be 0-65535, got "70000"',
      'host: the host is empty',
      'retentionDays: retention is 1-90 days, got "a week"',
      expect.stringMatching(/^node: node names are lowercase letters.*, got "Bad Name"$/),
      'adminToken: SHERLOCK_ADMIN_TOKEN must be at least 16 characters',
      'configFile: the config file path is empty',
    ]);
    expect(problems({ port: '80.5' })).toEqual(['port: port must be 0-65535, got "80.5"']);
    expect(problems({ 'retention-days': '0' })).toEqual(['retentionDays: retention is 1-90 days, got "0"']);
    expect(problems({ redis: 'http://x:1' })).toEqual([expect.stringMatching(/^redisUrl: REDIS_URL "http:\/\/x:1" is not one of/)]);
    expect(() => loadServerConfig({ label: ['novalue'] }, {})).toThrow('--label takes key=value, got "novalue"');
  });
});
