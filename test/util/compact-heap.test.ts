// compactHeap: an idle worker's compacting GC gives half-empty old-space pages back.
import { getHeapSpaceStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { compactHeap } from '../../src/util/compact-heap.js';

const oldSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'old_space')!;

describe('compactHeap', () => {
  it('frees the pages that garbage left half empty, which a plain collection keeps', () => {
    // ~24 MiB of small objects, promoted to old space by two collections.
    let objects: ({ a: number; b: string } | undefined)[] = Array.from({ length: 300_000 }, (_, i) => ({ a: i, b: `s${i}` }));
    compactHeap();
    compactHeap();
    const full = oldSpace();
    // Every other object dies: no page empties, so only compaction can give pages back.
    for (let i = 0; i < objects.length; i += 2) objects[i] = undefined;
    compactHeap();
    const compacted = oldSpace();
    expect(compacted.space_used_size).toBeLessThan(full.space_used_size - 5 * 2 ** 20);
    // Without compaction the committed size stays where it was (the pages are half full).
    expect(compacted.physical_space_size).toBeLessThan(full.physical_space_size - 5 * 2 ** 20);
    expect(objects.filter(Boolean)).toHaveLength(150_000);
    objects = [];
  });
});
