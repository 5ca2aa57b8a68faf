// A number from a result or a finding's evidence, named by its field, in the
// units people read (latencyUs 300000 → "300 ms", slowShare 0.045 → "4.5%",
// execs 5000 → "5,000") with the raw value kept for a tooltip. The field's
// name carries the unit, as Sherlock's results name them (…Us, …Ns, …Ms,
// …Bytes, …Kb, …Pct, …Share); identifiers (pid, errno, port, cgroupId) stay
// as they are. One rule set for every table, fact and evidence value of the
// report (src/report/html), so no raw microseconds slip through anywhere.
import { fmtBytes, fmtUnit } from './units.js';

export interface HumanNumber {
  text: string;
  /** The value as stored, with its unit, for a tooltip; undefined for a count shown as stored. */
  raw?: string;
}

/** Fields that are names, not amounts: no unit, no thousands separator. */
const ID_FIELD =
  /^(pid|ppid|tid|tgid|uid|gid|euid|errno|err|error|ret|retval|exit|exitcode|exit_code|signal|sig|signo|code|port|sport|dport|lport|rport|cpu|fd|inode|ino|dev|major|minor|family|proto|protocol|state|id|mntns|netns|pidns|year)$/i;
/** …Id, …_id, …Pid, …Port, …Errno, …Fd ("LAST PID" as a column): identifiers too. */
const ID_SUFFIX = /(Id|_id|Pid|_pid|Port|_port|Errno|Fd|Inode)$|(^|[\s_])(PID|TID|UID|ID|FD|PORT|ERRNO)$/;
/** A column header's unit word: "WAIT ms", "P99_us", "LAT(ms)", "TX_KB". */
const HEADER_UNIT = /(?:^|[\s_(-])(ns|us|µs|usecs|ms|msecs|s|secs|kb|kib|mb|mib|bytes)\)?$/i;
const HEADER_UNITS: Record<string, Unit> = {
  ns: 'ns',
  us: 'µs',
  µs: 'µs',
  usecs: 'µs',
  ms: 'ms',
  msecs: 'ms',
  s: 's',
  secs: 's',
  kb: 'kib',
  kib: 'kib',
  mb: 'mib',
  mib: 'mib',
  bytes: 'bytes',
};

type Unit = 'ns' | 'µs' | 'ms' | 's' | 'bytes' | 'kib' | 'mib' | 'pct' | 'share' | 'id' | 'count';

/** The unit a field's name (or a table column's header) says its numbers are in. */
export function unitOfField(field: string): Unit {
  const f = field.trim();
  if (ID_FIELD.test(f) || ID_SUFFIX.test(f)) return 'id';
  const lower = f.toLowerCase();
  const word = HEADER_UNIT.exec(f)?.[1]?.toLowerCase();
  if (word && HEADER_UNITS[word]) return HEADER_UNITS[word];
  if (/(Ns|_ns|nsecs|nanoseconds)$/.test(f) || lower === 'ns') return 'ns';
  if (/(Us|_us|usecs|microseconds|µs)$/.test(f) || lower === 'us') return 'µs';
  if (/(Ms|_ms|msecs|milliseconds)$/.test(f) || lower === 'ms') return 'ms';
  if (/(Seconds|Secs|_secs|_seconds)$/.test(f) || lower === 'seconds') return 's';
  if (/bytes$/i.test(f)) return 'bytes';
  if (/(Kb|_kb|KiB|_kib)$/i.test(f)) return 'kib';
  if (/(pct|percent|%)$/i.test(f) || /^(pct|percent)(Of|_|$)/.test(f)) return 'pct';
  if (/(share|ratio|fraction)$/i.test(f) || /^(share|fraction)(Of|_)/.test(f)) return 'share';
  return 'count';
}

const grouped = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 20 });

/** A plain amount: integers grouped by thousands, fractions to three significant digits. */
function amount(n: number): string {
  if (Number.isInteger(n)) return grouped(n);
  const abs = Math.abs(n);
  if (abs >= 100) return Math.round(n).toLocaleString('en-US');
  return String(+n.toPrecision(3));
}

/** `value` of the field `field` for people, with its raw form when that differs. */
export function humanNumber(field: string, value: number): HumanNumber {
  if (!Number.isFinite(value)) return { text: String(value) };
  const plain = String(value);
  const unit = unitOfField(field);
  // A value in a unit always shows its stored form on hover (the field's unit, unrounded); a count only when that differs.
  const withRaw = (text: string, raw: string): HumanNumber => ({ text, raw });
  switch (unit) {
    case 'id':
      return { text: plain };
    case 'ns':
      return withRaw(fmtUnit(value, 'ns'), `${grouped(value)} ns`);
    case 'µs':
      return withRaw(fmtUnit(value, 'µs'), `${grouped(value)} µs`);
    case 'ms':
      return withRaw(fmtUnit(value, 'ms'), `${grouped(value)} ms`);
    case 's':
      return withRaw(fmtUnit(value, 's'), `${grouped(value)} s`);
    case 'bytes':
      return withRaw(fmtBytes(value), `${grouped(value)} bytes`);
    case 'kib':
      return withRaw(fmtBytes(value * 1024), `${grouped(value)} KiB`);
    case 'mib':
      return withRaw(fmtBytes(value * 1024 * 1024), `${grouped(value)} MiB`);
    case 'pct':
      return withRaw(`${amount(value)}%`, `${plain} %`);
    case 'share':
      return withRaw(`${+(value * 100).toFixed(Math.abs(value) >= 0.1 ? 1 : 2)}%`, `${plain} (share)`);
    default: {
      const text = amount(value);
      return text === plain ? { text } : { text, raw: plain };
    }
  }
}

/**
 * Any evidence or result value as one line for people: numbers by
 * humanNumber, lists of them joined, flat objects of counts as
 * "ESTABLISHED 62 · SYN_SENT 30", anything else as (short) JSON.
 */
export function humanValue(field: string, value: unknown): HumanNumber {
  if (value === undefined || value === null) return { text: '' };
  if (typeof value === 'number') return humanNumber(field, value);
  if (typeof value === 'string') return { text: value };
  if (typeof value === 'boolean' || typeof value === 'bigint') return { text: String(value) };
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) {
    const parts = value.map((v) => humanNumber(field, v as number));
    return { text: parts.map((p) => p.text).join(' – '), ...(parts.some((p) => p.raw) ? { raw: value.join(' – ') } : {}) };
  }
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return { text: value.join(' ') };
  if (typeof value === 'object' && !Array.isArray(value)) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length && entries.length <= 24 && entries.every(([, v]) => typeof v === 'number')) {
      // The keys name what is counted ("ESTABLISHED", "python3"); the field names the unit of all.
      const unitField = unitOfField(field) === 'count' ? 'count' : field;
      return { text: entries.map(([k, v]) => `${k} ${humanNumber(unitField, v as number).text}`).join(' · '), raw: JSON.stringify(value) };
    }
  }
  const json = JSON.stringify(value);
  return json.length > 300 ? { text: `${json.slice(0, 297)}...`, raw: json.slice(0, 2000) } : { text: json };
}
