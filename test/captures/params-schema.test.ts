// A capture's settings are checked twice: by hand where a capture starts
// (checkSettings: `sherlock capture`, a worker's run) and as zod by the API,
// runbooks and planner (paramsSchema). Both accept and refuse the same values,
// for every setting of every capture, and give the same params.
import { describe, expect, it } from 'vitest';
import { paramsSchema } from '../../src/captures/params-schema.js';
import { captures } from '../../src/captures/registry.js';
import { checkSettings, type Setting } from '../../src/captures/settings.js';

/** Values around a setting's rules: its default, its bounds and past them, and wrong types. */
function probes(s: Setting): unknown[] {
  const common = [null, 'x', '', [], {}, true];
  switch (s.kind) {
    case 'integer':
      return [...common, s.default, s.min, s.max, s.min - 1, s.max + 1, s.min + 0.5, s.min + 1024, s.min * 2, s.max / 2, String(s.default), Number.NaN];
    case 'boolean':
      return [...common, false, 'true', 0, 1];
    case 'choice':
      return [...common, ...s.values, s.values[0]!.toUpperCase()];
    case 'pattern':
      return [...common, s.default, `${s.default}!`, 42];
    case 'list':
      return [...common, 'KILL', 'KILL, 15,SIGSEGV', ['SIGTERM', 9], ['SIGNOPE'], 'KILL,NOPE', [9, 'x'], [[1]], ',', 64];
  }
}

describe('capture settings, by hand and as zod', () => {
  it('agree on every probe of every setting', () => {
    let compared = 0;
    for (const def of captures.values()) {
      const schema = paramsSchema<unknown>(def);
      for (const [key, setting] of Object.entries(def.settings)) {
        for (const value of probes(setting)) {
          const input = { [key]: value };
          const byHand = checkSettings(def.settings, input);
          const byZod = schema.safeParse(input);
          const at = `${def.name}.${key} = ${JSON.stringify(value)}`;
          expect('params' in byHand, at).toBe(byZod.success);
          if ('params' in byHand) expect(byHand.params, at).toEqual(byZod.data);
          else expect(byHand.problems.join('\n'), at).toMatch(new RegExp(`^${key}: `));
          compared++;
        }
      }
      expect(checkSettings(def.settings, { nosuch: 1 })).toEqual({ problems: [expect.stringMatching(/^unknown setting "nosuch"; allowed: /)] });
      expect(schema.safeParse({ nosuch: 1 }).success).toBe(false);
      expect(checkSettings(def.settings, {})).toEqual({ params: def.defaults });
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('say what was given and what is allowed', () => {
    const execsnoop = captures.get('execsnoop')!;
    expect(checkSettings(execsnoop.settings, { ringBufferMiB: 300, maxEvents: 0 })).toEqual({
      problems: ['maxEvents: takes an integer from 1 to 1000000, got 0', 'ringBufferMiB: takes an integer from 1 to 256, got 300'],
    });
    const profile = captures.get('profile')!;
    expect(checkSettings(profile.settings, { snapshotBufferBytes: 100_000, userStackBytes: 1000 })).toEqual({
      problems: [
        'userStackBytes: takes a multiple of 1024 from 0 to 65536, got 1000',
        'snapshotBufferBytes: takes a power of two from 65536 to 268435456, got 100000',
      ],
    });
    expect(checkSettings(captures.get('signals')!.settings, { signals: 'KILL,NOPE' })).toEqual({
      problems: ['signals: "NOPE" is not a signal (use names like SIGKILL or KILL, or numbers 1-63)'],
    });
    expect(checkSettings(captures.get('tcprtt')!.settings, { groupBy: 'host' })).toEqual({
      problems: ['groupBy: takes one of remote, remoteAddr, got "host"'],
    });
  });
});
