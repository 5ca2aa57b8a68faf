// Where Redis is, from one URL-shaped setting (REDIS_URL), so a fleet moves
// from one Redis to a Sentinel group or a Cluster by changing one secret:
//   redis://[user:pass@]host:port[/db]                  one Redis (rediss:// for TLS)
//   redis+cluster://[user:pass@]h1:7000,h2:7001,...     Redis Cluster: seed nodes
//   redis+sentinel://[user:pass@]s1:26379,s2:26379/NAME Sentinel group watching master NAME
//                    [?sentinelUsername=U&sentinelPassword=P] when the sentinels need their own
// rediss+cluster:// and rediss+sentinel:// speak TLS to every node (and sentinel).

export interface HostPort {
  host: string;
  port: number;
}

interface Common {
  tls: boolean;
  username?: string;
  password?: string;
}

export type RedisTarget =
  | (Common & { kind: 'single'; url: string })
  | (Common & { kind: 'cluster'; nodes: HostPort[] })
  | (Common & { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; sentinelUsername?: string; sentinelPassword?: string });

export const REDIS_URL_FORMS =
  'redis://[user:pass@]host:port[/db], redis+cluster://[user:pass@]host:port,host:port,... or redis+sentinel://[user:pass@]host:port,host:port/MASTER_NAME (rediss... for TLS)';

const SHAPE = /^(rediss?)(\+cluster|\+sentinel)?:\/\/(?:([^@/]*)@)?([^/?#]*)(\/[^?#]*)?(\?[^#]*)?$/;
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/;

export class RedisTargetError extends Error {
  override name = 'RedisTargetError';
}

/** Parses REDIS_URL; throws RedisTargetError saying what is wrong and which forms are allowed. */
export function parseRedisTarget(text: string): RedisTarget {
  const m = SHAPE.exec(text.trim());
  if (!m) throw new RedisTargetError(`REDIS_URL "${printableRedisTarget(text)}" is not one of ${REDIS_URL_FORMS}`);
  const [, scheme, mode, userinfo, hostList, path, query] = m as unknown as [
    string,
    string,
    string | undefined,
    string | undefined,
    string,
    string | undefined,
    string | undefined,
  ];
  const tls = scheme === 'rediss';
  const credentials = parseUserinfo(userinfo);
  if (!mode) {
    try {
      const url = new URL(text.trim());
      if (!url.hostname) throw new Error('no host');
    } catch {
      throw new RedisTargetError(`REDIS_URL "${printableRedisTarget(text)}" is not a valid URL; expected ${REDIS_URL_FORMS}`);
    }
    return { kind: 'single', url: text.trim(), tls, ...credentials };
  }
  const defaultPort = mode === '+sentinel' ? 26379 : 6379;
  const hosts = hostList.split(',').map((h) => parseHostPort(h.trim(), defaultPort, text));
  if (mode === '+cluster') {
    if (path && path !== '/') throw new RedisTargetError('a Redis Cluster has only database 0: drop the path from REDIS_URL');
    return { kind: 'cluster', nodes: hosts, tls, ...credentials };
  }
  const masterName = decodeURIComponent((path ?? '').replace(/^\//, ''));
  if (!masterName)
    throw new RedisTargetError('redis+sentinel:// needs the master name the sentinels watch: redis+sentinel://host:26379,host:26379/MASTER_NAME');
  const params = new URLSearchParams(query ?? '');
  for (const key of params.keys()) {
    if (key !== 'sentinelUsername' && key !== 'sentinelPassword')
      throw new RedisTargetError(`REDIS_URL: unknown option "${key}"; allowed: sentinelUsername, sentinelPassword`);
  }
  return {
    kind: 'sentinel',
    sentinels: hosts,
    masterName,
    tls,
    ...credentials,
    ...(params.get('sentinelUsername') ? { sentinelUsername: params.get('sentinelUsername')! } : {}),
    ...(params.get('sentinelPassword') ? { sentinelPassword: params.get('sentinelPassword')! } : {}),
  };
}

function parseUserinfo(userinfo: string | undefined): { username?: string; password?: string } {
  if (!userinfo) return {};
  const colon = userinfo.indexOf(':');
  const username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
  const password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function parseHostPort(text: string, defaultPort: number, whole: string): HostPort {
  const m = HOST_PORT.exec(text);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  if (!m || port < 1 || port > 65535) {
    throw new RedisTargetError(`REDIS_URL "${printableRedisTarget(whole)}": "${text}" is not host:port (port 1-65535)`);
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

/** The setting as it may be printed or logged: the password (and a sentinel password) replaced by ***. */
export function printableRedisTarget(text: string): string {
  return text.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@').replace(/([?&]sentinelPassword=)[^&#]*/, '$1***');
}
