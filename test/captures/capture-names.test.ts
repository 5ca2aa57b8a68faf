// The CLI loads one capture alone by its name: the name list is the
// registry's, and each name loads the very definition the registry holds.
import { describe, expect, it } from 'vitest';
import { CAPTURE_NAMES, loadCapture } from '../../src/captures/capture-names.js';
import { captureNames, captures } from '../../src/captures/registry.js';

describe('capture names', () => {
  it("are the registry's, in its order", () => {
    expect(CAPTURE_NAMES).toEqual(captureNames());
  });

  it('each loads the definition the registry holds; an unknown name loads nothing', async () => {
    for (const name of CAPTURE_NAMES) expect(await loadCapture(name), name).toBe(captures.get(name));
    expect(await loadCapture('nosuch')).toBeUndefined();
    expect(await loadCapture('../registry')).toBeUndefined();
  });
});
