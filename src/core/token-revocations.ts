// Immediate revocation on every API replica: each listens on the revocation
// channel and drops its token cache on a message, and also whenever its
// subscription (re)connects, since a revocation may have been missed meanwhile.
// While it is not connected, nothing is cached.
import type { RedisClient } from '../redis/connection.js';
import { keys } from '../redis/keys.js';
import type { TokenStore } from './tokens.js';

export async function followTokenRevocations(subscriber: RedisClient, tokens: TokenStore): Promise<() => void> {
  const onMessage = (channel: string) => {
    if (channel === keys.tokenRevocations) tokens.forgetCached();
  };
  const onReady = () => {
    tokens.forgetCached();
    tokens.cacheEnabled = true;
  };
  const onDown = () => {
    tokens.forgetCached();
    tokens.cacheEnabled = false;
  };
  subscriber.on('message', onMessage);
  subscriber.on('ready', onReady);
  subscriber.on('close', onDown);
  await subscriber.subscribe(keys.tokenRevocations);
  tokens.cacheEnabled = true;
  return () => {
    subscriber.off('message', onMessage);
    subscriber.off('ready', onReady);
    subscriber.off('close', onDown);
    tokens.cacheEnabled = false;
  };
}
