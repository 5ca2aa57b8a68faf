// Capture params → CLI flags: spelled as people type them, old spellings still accepted.
import { describe, expect, it } from 'vitest';
import { captures } from '../../src/captures/registry.js';
import { paramFlags, paramsFromFlags } from '../../src/cli/param-flags.js';
import { boolean, integer } from '../../src/captures/settings.js';

describe('capture parameter flags', () => {
  const number = integer(0, 10, 1, 'a number');
  const schema = { ringBufferMiB: number, maxEvents: number, sizeKiBPerCpu: number, verbose: boolean(false, 'more') };

  it('keeps binary units one word and camelCase as kebab-case', () => {
    expect(paramFlags(schema).map((f) => f.flag)).toEqual(['ring-buffer-mib', 'max-events', 'size-kib-per-cpu', 'verbose']);
  });

  it('accepts the old spelling as a hidden alias', () => {
    const flags = paramFlags(schema);
    expect(flags[0]!.aliases).toEqual(['ring-buffer-mi-b']);
    expect(flags[1]!.aliases).toEqual([]);
    expect(paramsFromFlags(flags, { 'ring-buffer-mi-b': '8' })).toEqual({ ringBufferMiB: 8 });
    expect(paramsFromFlags(flags, { 'ring-buffer-mib': '16' })).toEqual({ ringBufferMiB: 16 });
  });

  it('no registered capture has a flag with a one-letter word in it', () => {
    expect(captures.size).toBeGreaterThan(0);
    const all = [...captures.values()].flatMap((def) => paramFlags(def.settings).map((f) => f.flag));
    expect(all).toContain('ring-buffer-mib');
    for (const def of captures.values()) {
      for (const f of paramFlags(def.settings)) expect(f.flag, `${def.name}: --${f.flag}`).not.toMatch(/(^|-)[a-z](-|$)/);
    }
  });
});
