// Each secret shape the built-in patterns know, hidden in strings, argv and
// command lines; what surrounds it stays readable, and ordinary text is left alone.
import { describe, expect, it } from 'vitest';
import { compilePatterns, createRedactor, redactCaptureData, REDACTED } from '../../src/redact/index.js';
import { BUILT_IN_HINT, BUILT_IN_PATTERNS } from '../../src/redact/patterns.js';

const cases: [string, string, string][] = [
  ['--password=', 'mysql --password=Hunter2pw db', 'Hunter2pw'],
  ['env assignment', 'TOKEN=tok3nValue99 ./deploy.sh', 'tok3nValue99'],
  ['api key assignment', 'API_KEY=ak_live_1234abcd', 'ak_live_1234abcd'],
  ['url credentials', 'curl https://alice:s3cretPw@example.com/x', 's3cretPw'],
  ['postgres url', 'psql postgres://app:pgPass77@db:5432/app', 'pgPass77'],
  ['authorization header', 'Authorization: Bearer abcdefghijklmnop', 'abcdefghijklmnop'],
  ['basic auth', 'Authorization: Basic dXNlcjpwYXNzd29yZA==', 'dXNlcjpwYXNzd29yZA=='],
  ['x-api-key header', 'X-Api-Key: xk-998877665544', 'xk-998877665544'],
  ['aws key id', 'aws s3 ls AKIAIOSFODNN7EXAMPLE', 'AKIAIOSFODNN7EXAMPLE'],
  ['aws secret', 'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
  ['gcp api key', 'key AIzaSyA1234567890abcdefghijklmnopqrstuv', 'AIzaSyA1234567890abcdefghijklmnopqrstuv'],
  ['github token', 'git push ghp_0123456789abcdefghijklmnopqrstuvwxyzAB', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'],
  ['slack token', 'xoxb-123456789012-abcdefghijkl', 'xoxb-123456789012-abcdefghijkl'],
  ['private key', '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7b\n-----END RSA PRIVATE KEY-----', 'MIIEpAIBAAKCAQEA7b'],
  ['mysql -p in a command line', 'sh -c mysql -uroot -pMyDbPass1 shop', 'MyDbPass1'],
  ['json field', '{"password":"jsonPw123"}', 'jsonPw123'],
  ['query string', 'GET /login?user=a&token=qsTok456&x=1', 'qsTok456'],
];

describe('redactor: strings', () => {
  for (const [shape, text, secret] of cases) {
    it(`hides ${shape}`, () => {
      const r = createRedactor();
      const out = r.text(text);
      expect(out).not.toContain(secret);
      expect(out).toContain(REDACTED);
      expect(r.count).toBeGreaterThan(0);
      expect(r.text(out)).toBe(out); // idempotent
    });
  }

  it('leaves ordinary text alone', () => {
    const r = createRedactor();
    for (const text of ['/usr/bin/ls -la /etc', 'GET /v1/runs?limit=5', 'psql -p 5432 -h db', '/etc/passwd', 'node --max-old-space-size=4096 app.js']) {
      expect(r.text(text)).toBe(text);
    }
    expect(r.count).toBe(0);
  });
});

describe('redactor: argv', () => {
  const argv = (args: string[]) => createRedactor().argv(args);
  it('hides the argument after a secret flag', () => {
    expect(argv(['deploy', '--token', 'T0ken', '--verbose'])).toEqual(['deploy', '--token', REDACTED, '--verbose']);
    expect(argv(['app', '--api-key', 'K3y'])).toEqual(['app', '--api-key', REDACTED]);
  });
  it('knows which clients take -p', () => {
    expect(argv(['/usr/bin/mysql', '-uroot', '-pS3cr3t', 'shop'])).toEqual(['/usr/bin/mysql', '-uroot', `-p${REDACTED}`, 'shop']);
    expect(argv(['mysql', '-p', 'shop'])).toEqual(['mysql', '-p', 'shop']); // prompts; "shop" is the database
    expect(argv(['sshpass', '-p', 'Pw', 'ssh', 'host'])).toEqual(['sshpass', '-p', REDACTED, 'ssh', 'host']);
    expect(argv(['redis-cli', '-a', 'RPw', 'ping'])).toEqual(['redis-cli', '-a', REDACTED, 'ping']);
    expect(argv(['curl', '-u', 'bob:BPw', 'http://x'])).toEqual(['curl', '-u', `bob:${REDACTED}`, 'http://x']);
    expect(argv(['psql', '-p', '5432'])).toEqual(['psql', '-p', '5432']);
    expect(argv(['sudo', 'mysql', '-pX1'])).toEqual(['sudo', 'mysql', `-p${REDACTED}`]);
  });
});

describe('redactCaptureData', () => {
  it('walks any depth, counts, and applies operator patterns', () => {
    const data = { events: [{ comm: 'x', argv: ['app', '--password', 'P1'], nested: { url: 'https://u:P2@h' } }, { path: '/srv/acme-INTERNAL-42' }] };
    const { data: out, redactions } = redactCaptureData(data, compilePatterns(['acme-(?<secret>INTERNAL-\\d+)']));
    const text = JSON.stringify(out);
    for (const secret of ['P1', 'P2', 'INTERNAL-42']) expect(text).not.toContain(secret);
    expect(text).toContain('acme-[REDACTED]');
    expect(redactions).toBe(3);
  });
});

describe('redactor: the built-in hint', () => {
  // The hint lets a string skip the patterns: it must be found in everything any of them matches.
  const pieces = [
    'password',
    'Pass',
    'TOKEN',
    'api_key',
    'auth',
    '=',
    ':=',
    ': ',
    '"',
    '://',
    '@',
    'user',
    ':',
    'Bearer ',
    'basic ',
    'AKIA',
    'ASIA',
    'ABCDEFGHIJKLMNOP',
    'AIza',
    'ya29.',
    'ghp_',
    'github_pat_',
    'xoxb-',
    'hooks.slack.com/services/',
    'eyJ',
    '.',
    'shk_',
    '-----BEGIN RSA PRIVATE KEY-----',
    'X-Auth-Token',
    'Cookie',
    ' ',
    '-',
    '/',
    'abc123',
    '0123456789',
    'zzzzzzzzzzzzzzzzzzzz',
    // One whole secret of each shape, so that every pattern matches in some strings.
    ...cases.map(([, text]) => text),
    'eyJhbGciOi.eyJzdWIiOi.sIgnAtUrE1',
    'ya29.a0AfH6SMBxxxxxxxxxxxxxxxxx',
    'hooks.slack.com/services/T0/B0/x',
    'github_pat_0123456789abcdefghijklmn',
    'shk_0123456789abcdefgh',
    'X-Service-Key: k1',
  ];
  it('is in every match of every built-in pattern', () => {
    let seed = 42;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const matched = new Set<string>();
    for (let n = 0; n < 20_000; n++) {
      let text = '';
      for (let k = 1 + Math.floor(next() * 8); k > 0; k--) text += pieces[Math.floor(next() * pieces.length)];
      for (const { name, regex } of BUILT_IN_PATTERNS) {
        regex.lastIndex = 0;
        const m = regex.exec(text);
        if (!m) continue;
        matched.add(name);
        expect(BUILT_IN_HINT.test(m[0]), `${name} matched "${m[0]}" in "${text}"`).toBe(true);
      }
    }
    for (const [, text] of cases) expect(BUILT_IN_HINT.test(text)).toBe(true);
    expect([...matched].sort()).toEqual(BUILT_IN_PATTERNS.map((p) => p.name).sort());
  });
  it('is not in the ordinary strings of an event', () => {
    for (const text of ['2026-12-04T17:20:01.123Z', 'O_RDONLY|O_CLOEXEC', '/usr/lib/x86_64-linux-gnu/libc.so.6', 'python3', '12345'])
      expect(BUILT_IN_HINT.test(text), text).toBe(false);
  });
});
