// API tokens: random secrets shown once, stored only as SHA-256 hashes, each
// with scopes. Verification is cached briefly in this process's memory so a busy API does
// not ask Redis on every request; a revocation is published and every replica
// drops its cache at once (token-revocations.ts).
import { hash as digest, randomBytes, randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { Forbidden, Unauthenticated } from '../model/errors.js';
import { keys } from '../redis/keys.js';

export const SCOPES = ['runs:write', 'runs:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export interface TokenRecord {
  id: string;
  name: string;
  scopes: Scope[];
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
}

/** `admin` can do everything; `runs:write` may also read runs. */
const implied: Record<Scope, Scope[]> = {
  admin: ['admin', 'runs:write', 'runs:read'],
  'runs:write': ['runs:write', 'runs:read'],
  'runs:read': ['runs:read'],
};

/** Whether tokens with `scopes` may do what `scope` allows. */
export const grants = (scopes: readonly Scope[], scope: Scope): boolean => scopes.some((s) => implied[s].includes(scope));

const CACHE_MS = 2_000;
// One-shot (no Hash object per request): the same SHA-256 hex as createHash gives.
const hash = (secret: string) => digest('sha256', secret, 'hex');

export class TokenStore {
  private readonly cache = new Map<string, { record: TokenRecord | undefined; until: number }>();
  /** Only while revocations are followed (token-revocations.ts): else every check asks Redis. */
  cacheEnabled = false;

  constructor(private readonly redis: RedisClient) {}

  /** Creates a token; the secret is returned once and never stored. */
  async create(name: string, scopes: Scope[], createdBy: string, secret = `shk_${randomBytes(24).toString('base64url')}`) {
    const record: TokenRecord = { id: randomUUID(), name, scopes, createdAt: new Date().toISOString(), createdBy };
    await this.redis.hset(keys.tokens, hash(secret), JSON.stringify(record));
    return { secret, record };
  }

  /** Stores a known secret (the preset admin token) if it is not there yet. */
  async ensure(secret: string, name: string, scopes: Scope[]): Promise<TokenRecord> {
    const existing = await this.redis.hget(keys.tokens, hash(secret));
    if (existing) return JSON.parse(existing) as TokenRecord;
    return (await this.create(name, scopes, 'sherlock up', secret)).record;
  }

  async verify(secret: string): Promise<TokenRecord | undefined> {
    // Cached by the hash, not the secret (~4% of a busy API's CPU): a heap dump or core file
    // of the API then holds no usable token.
    const key = hash(secret);
    const cached = this.cache.get(key);
    if (this.cacheEnabled && cached && cached.until > Date.now()) return cached.record;
    const text = await this.redis.hget(keys.tokens, key);
    const parsed = text ? (JSON.parse(text) as TokenRecord) : undefined;
    const record = parsed && !parsed.revokedAt ? parsed : undefined;
    if (this.cache.size > 10_000) this.cache.clear();
    if (this.cacheEnabled) this.cache.set(key, { record, until: Date.now() + CACHE_MS });
    return record;
  }

  /** Forgets every cached verification (a revocation elsewhere, or a missed one). */
  forgetCached(): void {
    this.cache.clear();
  }

  /** The token behind `secret` if it grants `scope`; Unauthenticated or Forbidden saying why not. */
  async authorize(secret: string | undefined, scope: Scope): Promise<TokenRecord> {
    if (!secret) throw new Unauthenticated('unauthorized', 'send an API token: Authorization: Bearer <token>');
    const token = await this.verify(secret);
    if (!token) throw new Unauthenticated('unauthorized', 'the API token is unknown or revoked');
    if (!grants(token.scopes, scope)) {
      throw new Forbidden('forbidden', `this token lacks the ${scope} scope (it has: ${token.scopes.join(', ')})`);
    }
    return token;
  }

  async list(): Promise<TokenRecord[]> {
    const all = await this.redis.hvals(keys.tokens);
    return all.map((t) => JSON.parse(t) as TokenRecord).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Marks a token revoked (kept for the audit trail); false if no such id. */
  async revoke(id: string): Promise<TokenRecord | undefined> {
    const all = await this.redis.hgetall(keys.tokens);
    for (const [field, text] of Object.entries(all)) {
      const record = JSON.parse(text) as TokenRecord;
      if (record.id !== id) continue;
      const revoked = { ...record, revokedAt: record.revokedAt ?? new Date().toISOString() };
      await this.redis.hset(keys.tokens, field, JSON.stringify(revoked));
      this.cache.clear();
      await this.redis.publish(keys.tokenRevocations, revoked.id);
      return revoked;
    }
    return undefined;
  }
}
