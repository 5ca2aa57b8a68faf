// Console sessions: an API token exchanged once for a random session id (the
// browser keeps it in an HttpOnly cookie). Redis holds only the id's SHA-256,
// so a copy of Redis gives no usable cookie; each session carries its CSRF
// secret and expires on its own. A revoked token ends its sessions at once.
import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { Forbidden, Unauthenticated } from '../model/errors.js';
import { keys } from '../redis/keys.js';
import { grants, type Scope, type TokenRecord, type TokenStore } from './tokens.js';

export const SESSION_TTL_SECONDS = 8 * 3600;

export interface Session {
  tokenId: string;
  /** The token's name: the actor in the audit log, as for the API. */
  name: string;
  scopes: Scope[];
  /** Compared with the hidden field of every form (csrf.ts in the console). */
  csrf: string;
  createdAt: string;
  expiresAt: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export class SessionStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly tokens: TokenStore,
    private readonly ttlSeconds = SESSION_TTL_SECONDS,
  ) {}

  /** Exchanges an API token for a session; the id is returned once, Redis keeps its hash. */
  async login(secret: string | undefined): Promise<{ id: string; session: Session }> {
    const token = secret ? await this.tokens.verify(secret.trim()) : undefined;
    if (!token) throw new Unauthenticated('unauthorized', 'the API token is unknown or revoked');
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const session: Session = {
      tokenId: token.id,
      name: token.name,
      scopes: token.scopes,
      csrf: randomBytes(32).toString('base64url'),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.ttlSeconds * 1000).toISOString(),
    };
    await this.redis.set(keys.consoleSession(sha256(id)), JSON.stringify({ ...session, tokenHash: sha256(secret!.trim()) }), 'EX', this.ttlSeconds);
    return { id, session };
  }

  /** The live session behind a cookie value; undefined when unknown, expired or its token revoked. */
  async get(id: string | undefined): Promise<Session | undefined> {
    if (!id || id.length > 100) return undefined;
    const text = await this.redis.get(keys.consoleSession(sha256(id)));
    if (!text) return undefined;
    const { tokenHash, ...session } = JSON.parse(text) as Session & { tokenHash: string };
    const token = await this.redis.hget(keys.tokens, tokenHash);
    if (!token || (JSON.parse(token) as TokenRecord).revokedAt) {
      await this.logout(id);
      return undefined;
    }
    return session;
  }

  /** The session if it grants `scope`; Unauthenticated or Forbidden saying why not. */
  async authorize(id: string | undefined, scope: Scope): Promise<Session> {
    const session = await this.get(id);
    if (!session) throw new Unauthenticated('unauthorized', 'sign in with an API token');
    if (!grants(session.scopes, scope)) {
      throw new Forbidden('forbidden', `this token lacks the ${scope} scope (it has: ${session.scopes.join(', ')})`);
    }
    return session;
  }

  async logout(id: string): Promise<void> {
    await this.redis.del(keys.consoleSession(sha256(id)));
  }
}
