// The hono environment of every authenticated route: the caller's token.
import type { TokenRecord } from '../core/tokens.js';

export type ApiEnv = { Variables: { token: TokenRecord } };
