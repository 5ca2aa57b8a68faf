// The hono environment of console routes: the signed-in session (if any), its
// cookie value, and the nonce this response's inline style and script carry.
import type { Session } from '../core/sessions.js';

export type ConsoleEnv = { Variables: { session?: Session; sessionId?: string; nonce: string } };
