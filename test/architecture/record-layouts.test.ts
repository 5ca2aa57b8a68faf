// Record layouts cannot drift: every C struct a capture's user space reads
// (its `records`, the offsets its decoder uses) is checked against the BTF of
// the object `make bpf` built, size, every member's offset and the array
// lengths it bounds reads by. A new capture is checked by exporting its
// layouts in its definition; nothing here names a capture.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CaptureDefinition } from '../../src/captures/capture.js';
import { recordLayout } from '../../src/captures/records.js';
import { captures } from '../../src/captures/registry.js';
import { runTimeLayout } from '../../src/captures/run-time-sampler.js';
import { bpfObjectPath, projectRoot } from '../../src/util/paths.js';
import { layoutMismatches, ObjectBtf } from '../helpers/btf-layout.js';

/** The structs of bpf/<name>/<name>.h: by the project's rule, what crosses to user space. */
function headerStructs(name: string): string[] {
  const header = join(projectRoot, 'bpf', name, `${name}.h`);
  if (!existsSync(header)) return [];
  return [...readFileSync(header, 'utf8').matchAll(/^struct (\w+) \{/gm)].map((m) => m[1]!);
}

function objectBtf(d: CaptureDefinition): ObjectBtf {
  const path = bpfObjectPath(d.name);
  if (!existsSync(path)) throw new Error(`${path} is missing: run make bpf`);
  return new ObjectBtf(path);
}

describe("record layouts against the objects' BTF", () => {
  // A sampled capture (no collect) has no BPF object, so nothing crosses.
  for (const d of [...captures.values()].filter((c) => c.collect)) {
    describe(d.name, () => {
      it('every record its decoder reads matches the struct in the object (size, offsets, array lengths)', () => {
        const btf = objectBtf(d);
        expect((d.records ?? []).flatMap((layout) => layoutMismatches(btf, layout))).toEqual([]);
      });

      it('its programs count their runs in struct sherlock_run_time as run-time-sampler reads it', () => {
        expect(layoutMismatches(objectBtf(d), runTimeLayout)).toEqual([]);
      });

      it(`declares a layout for every struct of bpf/${d.name}/${d.name}.h`, () => {
        const declared = new Set((d.records ?? []).map((r) => r.struct));
        expect(headerStructs(d.name).filter((s) => !declared.has(s))).toEqual([]);
      });
    });
  }

  it('a capture reads at least one record (else this file checks nothing)', () => {
    expect([...captures.values()].filter((d) => d.records?.length).length).toBeGreaterThan(0);
  });

  it('names every kind of drift (the check can fail)', () => {
    const d = [...captures.values()].find((c) => c.records?.some((r) => Object.keys(r.lengths).length && Object.keys(r.offsets).length > 2));
    const good = d!.records!.find((r) => Object.keys(r.lengths).length && Object.keys(r.offsets).length > 2)!;
    const btf = objectBtf(d!);
    expect(layoutMismatches(btf, good)).toEqual([]);

    const [first, second, ...rest] = Object.entries(good.offsets);
    const [array, length] = Object.entries(good.lengths)[0]!;
    const drifted = recordLayout(
      good.struct,
      good.size + 8,
      { ...Object.fromEntries(rest), [first![0]]: first![1] + 4, no_such_member: 0 },
      { [array]: length * 2 },
    );
    expect(layoutMismatches(btf, drifted)).toEqual(
      expect.arrayContaining([
        `sizeof(struct ${good.struct}) is ${good.size}, the decoder says ${good.size + 8}`,
        `${good.struct}.${first![0]} is at ${first![1]}, the decoder reads it at ${first![1] + 4}`,
        `struct ${good.struct} has no member no_such_member`,
        `${good.struct}.${array} has ${length} elements, the decoder says ${length * 2}`,
        `${good.struct}.${second![0]} (at ${second![1]}) is missing from the decoder's layout`,
      ]),
    );
    expect(layoutMismatches(btf, recordLayout('no_such_struct', 8, {}))[0]).toMatch(/not in the BTF/);
  });
});
