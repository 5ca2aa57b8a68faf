// Small pieces the pages share: a time (the viewer's zone once the script ran,
// UTC in the title and before it), a status badge, a CSRF field.
import type { Session } from '../core/sessions.js';
import { CSRF_FIELD } from './csrf.js';

export function Time({ iso }: { iso: string | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  const utc = iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
  return (
    <time datetime={iso} title={utc}>
      {utc}
    </time>
  );
}

export const Status = ({ status }: { status: string }) => <span class={`status ${status}`}>{status}</span>;

export const CsrfField = ({ session }: { session: Session }) => <input type="hidden" name={CSRF_FIELD} value={session.csrf} />;

/** "1.5 s", "2m 30s". */
export function seconds(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return s ? `${m}m ${s}s` : `${m}m`;
}
