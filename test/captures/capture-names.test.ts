// The CLI loads one capture alone by its name: the name list is the
// registry's, and each name loads the very definition the registry holds. An
// idle worker loads only the captures' setups: each is its definition's.
import { describe, expect, it } from 'vitest';
import { CAPTURE_NAMES, loadCapture, loadSetup } from '../../src/captures/capture-names.js';
import { captureNames, captures } from '../../src/captures/registry.js';
import { paramsSchema } from '../../src/captures/params-schema.js';

describe('capture names', () => {
  it("are the registry's, in its order", () => {
    expect(CAPTURE_NAMES).toEqual(captureNames());
  });

  it('each loads the definition the registry holds; an unknown name loads nothing', async () => {
    for (const name of CAPTURE_NAMES) expect(await loadCapture(name), name).toBe(captures.get(name));
    expect(await loadCapture('nosuch')).toBeUndefined();
    expect(await loadCapture('../registry')).toBeUndefined();
  });

  it("each loads its setup: the definition's own, with the defaults its params give", async () => {
    for (const name of CAPTURE_NAMES) {
      const setup = await loadSetup(name);
      const def = captures.get(name)!;
      expect(setup?.name, name).toBe(name);
      expect(setup!.defaults, name).toEqual(paramsSchema(def).parse({}));
      expect(setup!.bpfObject, name).toBe(Boolean(def.collect));
      for (const field of ['settings', 'bpfObject', 'defaults', 'followForks', 'configure', 'perfEvent'] as const)
        expect(def[field], `${name}.${field}`).toBe(setup![field]);
    }
    expect(await loadSetup('nosuch')).toBeUndefined();
  });
});
