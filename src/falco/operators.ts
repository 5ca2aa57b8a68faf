// Comparison operators over one field value and the right side, prepared
// once when a rule is compiled. A check on a field without a value is false,
// whatever the operator (as in Falco); `not` turns that into true.
import { isIP } from 'node:net';
import type { Operator } from './ast.js';
import type { FieldType } from './fields.js';

export type Scalar = string | number | boolean;
/** One value against the prepared right side. */
export type ScalarTest = (v: Scalar) => boolean;

export class OperatorError extends Error {
  override name = 'OperatorError';
}

const STRING_ONLY: Operator[] = ['contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'glob', 'iglob', 'regex', 'pmatch'];
const ORDERING: Operator[] = ['<', '<=', '>', '>='];

/** fnmatch(3) without flags: `*` and `?` cross "/", `[...]` is a class, `\` escapes. */
export function globRegExp(pattern: string, ignoreCase = false): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < pattern.length) re += escape(pattern[++i]!);
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, end);
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        re += `[${body.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, ignoreCase ? 'is' : 's');
}
const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

function hexBytes(v: string): Buffer {
  if (!/^([0-9a-fA-F]{2})+$/.test(v)) throw new OperatorError(`"${v}" is not a hex byte string (bcontains and bstartswith take pairs of hex digits)`);
  return Buffer.from(v, 'hex');
}

export function parseNumber(v: string): number | undefined {
  const n = /^[+-]?0[xX][0-9a-fA-F]+$/.test(v) ? Number.parseInt(v, 16) : Number(v);
  return v.trim() !== '' && Number.isFinite(n) ? n : undefined;
}

/** An address as a number (v4) or bigint (v6), parsed once per distinct text; undefined when it is none. */
type ParsedIp = { v: 4; n: number } | { v: 6; n: bigint };
const parsedIps = new Map<string, ParsedIp | null>();

export function parseIp(text: string): ParsedIp | undefined {
  let p = parsedIps.get(text);
  if (p === undefined) {
    p = parseIpUncached(text) ?? null;
    if (parsedIps.size > 50_000) parsedIps.clear();
    parsedIps.set(text, p);
  }
  return p ?? undefined;
}

function parseIpUncached(text: string): ParsedIp | undefined {
  const family = isIP(text);
  if (family === 4) return { v: 4, n: text.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) };
  if (family !== 6) return undefined;
  // IPv4-mapped (::ffff:a.b.c.d) compares as IPv4, as the kernel's addresses do.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  if (mapped) return parseIpUncached(mapped[1]!);
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  let h = groups(head);
  let t = groups(tail);
  // A trailing dotted quad is two groups.
  const quad = (g: string[]) => {
    const last = g.at(-1);
    if (last?.includes('.')) {
      const n = parseIpUncached(last)!.n as number;
      g.splice(-1, 1, (n >>> 16).toString(16), (n & 0xffff).toString(16));
    }
    return g;
  };
  if (tail === undefined) h = quad(h);
  else t = quad(t);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return { v: 6, n: all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
}

const sameIp = (a: ParsedIp | undefined, b: ParsedIp) => a !== undefined && a.v === b.v && a.n === b.n;

/** A network: address and prefix length ("10.0.0.0/8"; an address alone is its own /32 or /128). */
type Network = { v: 4; n: number; bits: number } | { v: 6; n: bigint; bits: number };

function network(text: string): Network {
  const [addr, bits] = text.split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) throw new OperatorError(`"${text}" is not an address or network (a.b.c.d/N)`);
  const max = ip.v === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new OperatorError(`"${text}": the prefix length must be 0-${max}`);
  return { ...ip, bits: prefix } as Network;
}

function inNetwork(net: Network, text: string): boolean {
  const ip = parseIp(text);
  if (!ip || ip.v !== net.v) return false;
  if (net.bits === 0) return true;
  if (ip.v === 4) {
    const shift = 32 - net.bits;
    return Math.floor(ip.n / 2 ** shift) === Math.floor((net.n as number) / 2 ** shift);
  }
  const shift = BigInt(128 - net.bits);
  return ip.n >> shift === (net.n as bigint) >> shift;
}

/** pmatch: the value is one of the paths or below one (globs allowed in the paths). */
function pathMatcher(paths: string[]): ScalarTest {
  const plain = new Set<string>();
  const globs: RegExp[] = [];
  for (const p of paths) {
    const trimmed = p.length > 1 ? p.replace(/\/+$/, '') : p;
    if (/[*?[]/.test(trimmed)) globs.push(globRegExp(trimmed));
    else plain.add(trimmed);
  }
  return (v) => {
    if (typeof v !== 'string') return false;
    // Each prefix of the value, by path components: /a/b/c, /a/b, /a.
    for (let prefix = v; prefix; ) {
      if (plain.has(prefix) || globs.some((g) => g.test(prefix))) return true;
      const slash = prefix.lastIndexOf('/');
      if (slash <= 0) break;
      prefix = prefix.slice(0, slash);
    }
    return plain.has('/') && v.startsWith('/');
  };
}

/**
 * The test for `field op values` on a field of `type`: values are the right
 * side's strings (one, or the list's items). Throws OperatorError for an
 * operator the type does not take or a value it cannot read.
 */
export function prepareTest(op: Operator, type: FieldType, values: string[], fieldName: string): ScalarTest {
  const listOp = op === 'in' || op === 'intersects' || op === 'pmatch';
  if (!listOp && values.length !== 1 && op !== 'exists') throw new OperatorError(`${op} takes one value`);
  if (type !== 'string' && STRING_ONLY.includes(op)) throw new OperatorError(`operator ${op} is not supported on ${fieldName} (a ${typeName(type)} field)`);
  if (ORDERING.includes(op) && type !== 'number')
    throw new OperatorError(
      `operator ${op} is not supported on ${fieldName} (a ${typeName(type)} field; it takes =, !=, in${type === 'string' ? ', contains, startswith, glob, ...' : ''})`,
    );
  const one = values[0] ?? '';
  switch (type) {
    case 'number': {
      const nums = values.map((v) => {
        const n = parseNumber(v);
        if (n === undefined) throw new OperatorError(`"${v}" is not a number (${fieldName} is numeric)`);
        return n;
      });
      const n = nums[0]!;
      switch (op) {
        case '=':
        case '==':
          return (v) => v === n;
        case '!=':
          return (v) => v !== n;
        case '<':
          return (v) => (v as number) < n;
        case '<=':
          return (v) => (v as number) <= n;
        case '>':
          return (v) => (v as number) > n;
        case '>=':
          return (v) => (v as number) >= n;
        default: {
          const set = new Set(nums);
          return (v) => set.has(v as number);
        }
      }
    }
    case 'bool': {
      const bools = values.map((v) => {
        if (v === 'true') return true;
        if (v === 'false') return false;
        throw new OperatorError(`"${v}" is not true or false (${fieldName} is a boolean)`);
      });
      if (op === '!=') return (v) => v !== bools[0];
      if (op === '=' || op === '==') return (v) => v === bools[0];
      return (v) => bools.includes(v as boolean);
    }
    case 'ip': {
      const ips = values.map((v) => {
        const ip = parseIp(v);
        if (ip === undefined) throw new OperatorError(`"${v}" is not an IP address (${fieldName})`);
        return ip;
      });
      if (op === '!=') return (v) => !sameIp(parseIp(String(v)), ips[0]!);
      if (op === '=' || op === '==') return (v) => sameIp(parseIp(String(v)), ips[0]!);
      return (v) => {
        const ip = parseIp(String(v));
        return ips.some((x) => sameIp(ip, x));
      };
    }
    case 'ipnet': {
      const nets = values.map(network);
      if (op === '!=') return (v) => !inNetwork(nets[0]!, String(v));
      if (op === '=' || op === '==') return (v) => inNetwork(nets[0]!, String(v));
      return (v) => nets.some((n) => inNetwork(n, String(v)));
    }
    case 'string':
      return stringTest(op, values, one);
  }
}

function stringTest(op: Operator, values: string[], one: string): ScalarTest {
  switch (op) {
    case '=':
    case '==':
      return (v) => v === one;
    case '!=':
      return (v) => v !== one;
    case 'contains':
      return (v) => (v as string).includes(one);
    case 'icontains': {
      const lower = one.toLowerCase();
      return (v) => (v as string).toLowerCase().includes(lower);
    }
    case 'bcontains': {
      const bytes = hexBytes(one);
      return (v) => Buffer.from(v as string).includes(bytes);
    }
    case 'bstartswith': {
      const bytes = hexBytes(one);
      return (v) =>
        Buffer.from(v as string)
          .subarray(0, bytes.length)
          .equals(bytes);
    }
    case 'startswith':
      return (v) => (v as string).startsWith(one);
    case 'endswith':
      return (v) => (v as string).endsWith(one);
    case 'glob':
    case 'iglob': {
      const re = globRegExp(one, op === 'iglob');
      return (v) => re.test(v as string);
    }
    case 'regex': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${one})$`, 's');
      } catch (err) {
        throw new OperatorError(`invalid regular expression "${one}": ${(err as Error).message}`);
      }
      return (v) => re.test(v as string);
    }
    case 'in':
    case 'intersects': {
      const set = new Set(values);
      return (v) => set.has(v as string);
    }
    case 'pmatch':
      return pathMatcher(values);
    default:
      throw new OperatorError(`operator ${op} is not supported on strings`);
  }
}

const typeName = (t: FieldType) => ({ string: 'string', number: 'numeric', bool: 'boolean', ip: 'IP address', ipnet: 'IP network' })[t];

/** A comparison against another field's value (val(), transformers on the right), made per event. */
export function dynamicTest(op: Operator, type: FieldType, rhs: Scalar | Scalar[] | undefined, fieldName: string): ScalarTest | undefined {
  if (rhs === undefined) return undefined;
  const values = (Array.isArray(rhs) ? rhs : [rhs]).map(String);
  if (!values.length) return undefined;
  try {
    return prepareTest(op, type, op === 'in' || op === 'intersects' || op === 'pmatch' ? values : [values[0]!], fieldName);
  } catch {
    return undefined;
  }
}
