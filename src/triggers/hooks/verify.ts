// Sender authentication, all in constant time: a bearer token (Alertmanager's
// http_config), a shared-secret header (generic) and PagerDuty's HMAC
// signatures (several during a secret rotation: any one may match).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

const digest = (value: string | Buffer) => createHash('sha256').update(value).digest();

/** Equal strings, compared in time independent of where they differ (and of their lengths). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** `Authorization: Bearer <token>` equal to `expected`. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1] ?? '';
  return safeEqual(token, expected);
}

/** X-PagerDuty-Signature: "v1=<hex>[,v1=<hex>...]" over the raw body; true if any one matches. */
export function pagerDutySignatureMatches(header: string | undefined, secret: string, rawBody: Buffer): boolean {
  const expected = `v1=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  let ok = false;
  for (const sig of (header ?? '').split(',').slice(0, 16)) {
    // No early exit: every candidate is compared.
    if (safeEqual(sig.trim().toLowerCase(), expected)) ok = true;
  }
  return ok;
}
