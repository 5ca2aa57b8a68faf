// Comparison operators over one field value and the right side, prepared
// once when a rule is compiled. A check on a field without a value is false,
// whatever the operator (as in Falco); `not` turns that into true.
import { BlockList, isIP } from 'node:net';
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

function normalizeIp(v: string): string | undefined {
  const family = isIP(v);
  if (family === 4) return v;
  if (family === 6) {
    try {
      return new URL(`http://[${v}]`).hostname.slice(1, -1);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function network(v: string): BlockList {
  const list = new BlockList();
  const [addr, bits] = v.split('/');
  const family = isIP(addr ?? '');
  if (!family) throw new OperatorError(`"${v}" is not an address or network (a.b.c.d/N)`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (bits === undefined) list.addAddress(addr!, type);
  else {
    const prefix = Number(bits);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new OperatorError(`"${v}": the prefix length must be 0-${family === 4 ? 32 : 128}`);
    list.addSubnet(addr!, prefix, type);
  }
  return list;
}
const inNetwork = (list: BlockList, ip: string) => {
  const family = isIP(ip);
  return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
};

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
  if (ORDERING.includes(op) && type !== 'number') throw new OperatorError(`operator ${op} is not supported on ${fieldName} (a ${typeName(type)} field; it takes =, !=, in${type === 'string' ? ', contains, startswith, glob, ...' : ''})`);
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
        case '=': case '==': return (v) => v === n;
        case '!=': return (v) => v !== n;
        case '<': return (v) => (v as number) < n;
        case '<=': return (v) => (v as number) <= n;
        case '>': return (v) => (v as number) > n;
        case '>=': return (v) => (v as number) >= n;
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
        const ip = normalizeIp(v);
        if (ip === undefined) throw new OperatorError(`"${v}" is not an IP address (${fieldName})`);
        return ip;
      });
      if (op === '!=') return (v) => normalizeIp(String(v)) !== ips[0];
      if (op === '=' || op === '==') return (v) => normalizeIp(String(v)) === ips[0];
      const set = new Set(ips);
      return (v) => set.has(normalizeIp(String(v)) ?? '');
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
    case '=': case '==': return (v) => v === one;
    case '!=': return (v) => v !== one;
    case 'contains': return (v) => (v as string).includes(one);
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
      return (v) => Buffer.from(v as string).subarray(0, bytes.length).equals(bytes);
    }
    case 'startswith': return (v) => (v as string).startsWith(one);
    case 'endswith': return (v) => (v as string).endsWith(one);
    case 'glob': case 'iglob': {
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
    case 'in': case 'intersects': {
      const set = new Set(values);
      return (v) => set.has(v as string);
    }
    case 'pmatch': return pathMatcher(values);
    default: throw new OperatorError(`operator ${op} is not supported on strings`);
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
