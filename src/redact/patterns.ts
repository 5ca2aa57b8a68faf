// The secret shapes Sherlock knows without being told: each pattern's
// `secret` group (or the whole match) is replaced, so what surrounds it
// (`--password=`, `https://user:`, `Authorization: Bearer`) stays readable.
export const REDACTED = '[REDACTED]';

export interface SecretPattern {
  name: string;
  /** Global; a named group `secret` marks the part to hide, else the whole match. */
  regex: RegExp;
}

const KEYWORD = String.raw`(?:password|passwd|passphrase|pwd|pass|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth)`;

export const BUILT_IN_PATTERNS: readonly SecretPattern[] = [
  {
    name: 'private key block',
    regex: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?<secret>[\s\S]*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  },
  // user:pass@host in any URL-like string (https, postgres, redis, amqp...).
  { name: 'url credentials', regex: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*:(?<secret>[^\s@/]+)@/gi },
  // A header line: Authorization, Proxy-Authorization, X-Api-Key, Cookie, X-Auth-Token...
  {
    name: 'header',
    regex:
      /(?:^|[\s"'])(?:proxy-)?(?:authorization|cookie|set-cookie|x-[a-z0-9-]*(?:token|key|secret|auth)[a-z0-9-]*)\s*:\s*(?:(?:bearer|basic|token|digest|negotiate)\s+)?(?<secret>[^\s"']+(?:[^\n"']*)?)/gim,
  },
  { name: 'bearer/basic credentials', regex: /\b(?:bearer|basic)\s+(?<secret>[A-Za-z0-9._~+/-]{8,}=*)/gi },
  // KEY=value, --key=value, key: "value" (env assignments, flags, query strings, JSON).
  { name: 'assignment', regex: new RegExp(String.raw`[\w.-]*${KEYWORD}[\w.-]*(?:=|:=)(?<secret>[^\s&;,'"]+)`, 'gi') },
  { name: 'json field', regex: new RegExp(String.raw`"[\w.-]*${KEYWORD}[\w.-]*"\s*:\s*"(?<secret>[^"]+)"`, 'gi') },
  { name: 'aws access key id', regex: /\b(?<secret>(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16})\b/g },
  { name: 'gcp api key', regex: /\b(?<secret>AIza[0-9A-Za-z_-]{35})/g },
  { name: 'gcp oauth token', regex: /\b(?<secret>ya29\.[0-9A-Za-z_-]{20,})/g },
  { name: 'github token', regex: /\b(?<secret>(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,}))/g },
  { name: 'slack token', regex: /\b(?<secret>xox[abposre]-[A-Za-z0-9-]{10,})/g },
  { name: 'slack webhook', regex: /hooks\.slack\.com\/services\/(?<secret>[A-Za-z0-9/]+)/g },
  { name: 'jwt', regex: /\b(?<secret>eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})/g },
  { name: 'sherlock token', regex: /\b(?<secret>shk_[A-Za-z0-9_-]{16,})/g },
];

/**
 * A cheap first look: every match of a built-in pattern contains one of these
 * (each pattern's literal part, case-folded), so a string without any of them
 * skips the patterns. Most strings of an event (times, names, paths) have none.
 */
export const BUILT_IN_HINT = new RegExp(
  [
    'PRIVATE KEY',
    ':\\/\\/',
    'authorization|cookie|x-[a-z0-9-]*key',
    'bearer|basic',
    KEYWORD,
    'AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA',
    'AIza|ya29\\.',
    'gh[pousr]_|github_pat_',
    'xox[abposre]-|hooks\\.slack\\.com',
    'eyJ',
    'shk_',
  ].join('|'),
  'i',
);

/** A flag whose next argument is a secret, for any program: --password S, --token S, --api-key S. */
export const SECRET_FLAG = new RegExp(String.raw`^(?:--[\w-]*${KEYWORD}[\w-]*|-${KEYWORD}(?:[-_]?(?:file|in|out))?)$`, 'i');

/**
 * Clients whose short flags take a password: `attached` as in `mysql -pS`
 * (mysql's `-p S` prompts and names a database, so only the attached form),
 * `next` as in `sshpass -p S`, `userPass` as in `curl -u user:S`.
 */
interface ClientFlags {
  attached?: string[];
  next?: string[];
  userPass?: string[];
}
const MYSQL: ClientFlags = { attached: ['-p'] };
const MONGO: ClientFlags = { next: ['-p'], attached: ['-p'] };
const LDAP: ClientFlags = { next: ['-w'] };
export const CLIENT_FLAGS: ReadonlyMap<string, ClientFlags> = new Map<string, ClientFlags>([
  ...[
    'mysql',
    'mysqldump',
    'mysqladmin',
    'mysqlimport',
    'mysqlshow',
    'mysqlcheck',
    'mysqlslap',
    'mysqlpump',
    'mysqlbinlog',
    'mariadb',
    'mariadb-dump',
    'mariadb-admin',
    'mariadb-import',
    'mariadb-show',
    'mariadb-check',
  ].map((c) => [c, MYSQL] as const),
  ...['mongo', 'mongosh', 'mongodump', 'mongorestore', 'mongoexport', 'mongoimport', 'mongostat', 'mongotop'].map((c) => [c, MONGO] as const),
  ...['ldapsearch', 'ldapadd', 'ldapmodify', 'ldapdelete', 'ldapwhoami', 'ldappasswd', 'ldapcompare', 'ldapmodrdn'].map((c) => [c, LDAP] as const),
  ['sshpass', { next: ['-p'], attached: ['-p'] }],
  ['redis-cli', { next: ['-a'] }],
  ['keydb-cli', { next: ['-a'] }],
  ['sqlcmd', { next: ['-P'] }],
  ['bcp', { next: ['-P'] }],
  ['zip', { next: ['-P'] }],
  ['unzip', { next: ['-P'] }],
  ['7z', { attached: ['-p'] }],
  ['docker', { next: ['-p'] }],
  ['podman', { next: ['-p'] }],
  ['nerdctl', { next: ['-p'] }],
  ['curl', { userPass: ['-u', '--user', '-U', '--proxy-user'] }],
  ['smbclient', { userPass: ['-U', '--user'] }],
  ['openssl', { next: ['-pass', '-passin', '-passout', '-k', '-kfile'] }],
]);

/** The operator's patterns (config `redaction.patterns`, checked by operator-patterns.ts), compiled once. */
export function compilePatterns(sources: readonly string[]): SecretPattern[] {
  return sources.map((source, i) => ({ name: `operator pattern ${i}`, regex: new RegExp(source, 'g') }));
}
