// The target flags are checked by hand (no zod on `sherlock capture`'s start):
// whatever they accept the server's target schema accepts, and what it refuses
// they refuse, each with the flag's name and what it takes.
import { describe, expect, it } from 'vitest';
import { targetFromFlags } from '../../src/cli/target-flags.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { targetSchema } from '../../src/model/target.js';

const cases: Record<string, unknown>[] = [
  { pid: ['1,2', '3'] },
  { pid: [Array.from({ length: 4097 }, (_, i) => i + 1).join(',')] },
  { pid: ['0'] },
  { comm: 'nginx' },
  { comm: 'a-very-long-command-name' },
  { comm: '' },
  { cgroup: '/system.slice/nginx.service' },
  { cgroup: '' },
  { unit: 'nginx.service' },
  { unit: 'user@1000.service' },
  { unit: 'no spaces' },
  { unit: '' },
  { port: '443' },
  { port: '70000' },
  { uid: '0' },
  { uid: '4294967295' },
  { uid: '-1' },
];

/** The same values as the schema takes them (numbers as numbers). */
const asRequest = (flags: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(flags).map(([k, v]) => [
      k,
      k === 'pid' ? (v as string[]).flatMap((x) => x.split(',')).map(Number) : k === 'port' || k === 'uid' ? Number(v) : v,
    ]),
  );

describe('target flags', () => {
  it.each(cases.map((c) => [JSON.stringify(c).slice(0, 60), c]))('%s: accepted exactly when the target schema accepts it', (_name, flags) => {
    const schema = targetSchema.safeParse(asRequest(flags));
    let accepted: unknown;
    try {
      accepted = targetFromFlags(flags);
    } catch (err) {
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(new RegExp(`^--${Object.keys(flags)[0]}\\b`));
      expect(schema.success, `the schema accepts ${JSON.stringify(flags)}`).toBe(false);
      return;
    }
    expect(schema.success, `the schema refuses ${JSON.stringify(flags)}`).toBe(true);
    expect(accepted).toEqual(schema.data);
  });

  it('names the prefixed flag for sherlock run', () => {
    expect(() => targetFromFlags({ 'target-unit': 'no spaces' }, 'target-')).toThrow(
      /^--target-unit: unit is a systemd unit name like nginx.service, got "no spaces"$/,
    );
  });
});
