// Redis ACL users for Sherlock: the API and the workers each get the commands
// and keys they need and no more. Nothing works without a password.
//   API:    its keys ({sherlock}:*) and BullMQ's (bull:*), the {sherlock}:* channels.
//   worker: run records, events and artifacts ({sherlock}:run:*), run deadlines,
//           node heartbeats and its node name's lease, its node queues and the runs queue (BullMQ moves
//           a finished child's parent job, so a worker's scripts touch it too),
//           their own metrics hash ({sherlock}:worker-metrics) and the cancel channel.
//           Never tokens, the audit log or the API's metrics.
// Commands: everything but the dangerous ones (FLUSHALL, CONFIG, KEYS, DEBUG,
// ACL, MONITOR, ...), plus INFO (BullMQ reads the server version from it).

import { HASH_TAG, keys, RUNS_QUEUE } from './keys.js';
import { printableRedisTarget } from './target.js';

export const REDIS_USERS = { admin: 'sherlock-admin', api: 'sherlock-api', worker: 'sherlock-worker' } as const;
export type RedisRole = keyof typeof REDIS_USERS;
export type RedisCredentials = Record<RedisRole, string>;

const COMMANDS = '-@all +@all -@dangerous +info +client|setname +client|getname +client|id';

// Key patterns are globs: '{' is literal in them.
export const WORKER_KEYS = [
  keys.run('*'),
  keys.runDeadlines,
  keys.nodes,
  keys.nodesSeen,
  keys.nodeLease('*'),
  keys.workerMetrics,
  `bull:${HASH_TAG}-node-*`,
  `bull:${RUNS_QUEUE}:*`,
];
export const WORKER_CHANNELS = [keys.cancelChannel];
export const API_KEYS = [`${HASH_TAG}:*`, 'bull:*'];
export const API_CHANNELS = [`${HASH_TAG}:*`];

/** An ACL file's lines (passwords as SHA-256 so the file never holds them in clear). */
export function aclFileLines(credentials: RedisCredentials, sha256: (text: string) => string): string[] {
  const user = (name: string, password: string, rest: string) => `user ${name} on #${sha256(password)} resetkeys resetchannels ${rest}`;
  return [
    // Not `off`: Redis 7.0 replays the AOF as the default user and would refuse its own
    // transactions at start. On, but only with the admin password: unauthenticated clients get NOAUTH.
    user('default', credentials.admin, '~* &* +@all'),
    user(REDIS_USERS.admin, credentials.admin, '~* &* +@all'),
    user(REDIS_USERS.api, credentials.api, `${API_KEYS.map((k) => `~${k}`).join(' ')} ${API_CHANNELS.map((c) => `&${c}`).join(' ')} ${COMMANDS}`),
    user(REDIS_USERS.worker, credentials.worker, `${WORKER_KEYS.map((k) => `~${k}`).join(' ')} ${WORKER_CHANNELS.map((c) => `&${c}`).join(' ')} ${COMMANDS}`),
  ];
}

/** The URL with `user:password@` (the passwords are hex: nothing to escape). */
export function urlWithUser(url: string, role: RedisRole, credentials: RedisCredentials): string {
  const parsed = new URL(url);
  parsed.username = REDIS_USERS[role];
  parsed.password = credentials[role];
  return parsed.toString().replace(/\/$/, '');
}

/** The URL as it may be printed or logged: without its password. */
export function printableRedisUrl(url: string): string {
  return printableRedisTarget(url);
}
