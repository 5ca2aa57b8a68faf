// The TS decoder's offsets against the C header the kernel program writes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execLayout, exitLayout, headerLayout } from '../../src/captures/execsnoop/decode.js';
import { projectRoot } from '../../src/util/paths.js';
import { cLayout, cRecordLayout } from '../helpers/c-layout.js';

describe('execsnoop record layout', () => {
  it('matches bpf/execsnoop/execsnoop.h', () => {
    const header = join(projectRoot, 'bpf/execsnoop/execsnoop.h');
    for (const layout of [headerLayout, execLayout, exitLayout]) {
      expect(cRecordLayout(header, layout)).toEqual({ struct: layout.struct, size: layout.size, offsets: layout.offsets });
    }
    // Both records start with the header the decoder reads first.
    const c = cLayout(header, { execsnoop_exec: ['hdr.kind', 'hdr.pid', 'hdr.ts_ns'], execsnoop_exit: ['hdr.kind', 'hdr.pid', 'hdr.ts_ns'] });
    for (const record of ['execsnoop_exec', 'execsnoop_exit']) {
      expect([c[`${record}.hdr.kind`], c[`${record}.hdr.pid`], c[`${record}.hdr.ts_ns`]]).toEqual([
        headerLayout.offsets.kind,
        headerLayout.offsets.pid,
        headerLayout.offsets.ts_ns,
      ]);
    }
  });
});
