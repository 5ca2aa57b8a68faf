// Signed, expiring links to a run's report, for people who click them in chat
// and have no API token: HMAC-SHA256 over the run id and the expiry, with a key
// from the config. Changing the key invalidates every link given out.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Expired, Forbidden } from '../model/errors.js';

export const DEFAULT_REPORT_LINK_TTL_MS = 24 * 3600_000;

export interface ReportLinkSettings {
  /** The HMAC key (config triggers.slack.reportLinks.key, SHERLOCK_REPORT_LINK_KEY). */
  key: string;
  /** How long a link opens after it was made. */
  ttlMs: number;
}

/** The query that opens run `runId`'s report (page and bundle) until `ttlMs` from `now`. */
export interface SignedQuery {
  exp: string;
  sig: string;
}

const signature = (key: string, runId: string, exp: string) => createHmac('sha256', key).update(`sherlock-report\n${runId}\n${exp}`).digest('base64url');

export function signReportLink(settings: ReportLinkSettings, runId: string, now = Date.now()): SignedQuery {
  const exp = String(Math.floor((now + settings.ttlMs) / 1000));
  return { exp, sig: signature(settings.key, runId, exp) };
}

/**
 * Throws Forbidden for a link that was altered or signed with another key,
 * Expired for one whose time is up (the signature is checked first: an
 * altered expiry is an altered link).
 */
export function checkReportLink(key: string, runId: string, query: { exp?: string; sig?: string }, now = Date.now()): { expiresAt: string } {
  const { exp = '', sig = '' } = query;
  const expected = Buffer.from(signature(key, runId, exp));
  const given = Buffer.from(sig);
  if (!/^\d{1,12}$/.test(exp) || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new Forbidden(
      'report_link_invalid',
      'this report link is not valid (altered, cut short, or signed with a key since replaced); ask Sherlock for a new one',
    );
  }
  const expiresAt = new Date(Number(exp) * 1000).toISOString();
  if (Number(exp) * 1000 <= now) {
    throw new Expired('report_link_expired', `this report link expired at ${expiresAt}; ask Sherlock for a new one (/sherlock status ${runId})`, {
      expiredAt: expiresAt,
    });
  }
  return { expiresAt };
}
