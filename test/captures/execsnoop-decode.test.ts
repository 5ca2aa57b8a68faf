// The TS decoder's offsets against the C header the kernel program writes.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execLayout, exitLayout } from '../../src/captures/execsnoop/decode.js';
import { projectRoot } from '../../src/util/paths.js';
import { cLayout } from '../helpers/c-layout.js';

describe('execsnoop record layout', () => {
  it('matches bpf/execsnoop/execsnoop.h', () => {
    const c = cLayout(join(projectRoot, 'bpf/execsnoop/execsnoop.h'), {
      execsnoop_exec: ['hdr.kind', 'hdr.pid', 'hdr.ts_ns', 'tid', 'ppid', 'uid', 'retval', 'cgroup_id', 'args_count', 'args_size', 'args_truncated', 'comm', 'pcomm', 'filename', 'args'],
      execsnoop_exit: ['exit_code', 'exit_signal', 'lifetime_ns'],
    });
    expect(execLayout).toMatchObject({
      kind: c['execsnoop_exec.hdr.kind'], pid: c['execsnoop_exec.hdr.pid'], tsNs: c['execsnoop_exec.hdr.ts_ns'],
      tid: c['execsnoop_exec.tid'], ppid: c['execsnoop_exec.ppid'], uid: c['execsnoop_exec.uid'], retval: c['execsnoop_exec.retval'],
      cgroupId: c['execsnoop_exec.cgroup_id'], argsCount: c['execsnoop_exec.args_count'], argsSize: c['execsnoop_exec.args_size'],
      argsTruncated: c['execsnoop_exec.args_truncated'], comm: c['execsnoop_exec.comm'], pcomm: c['execsnoop_exec.pcomm'],
      filename: c['execsnoop_exec.filename'], args: c['execsnoop_exec.args'],
    });
    expect(exitLayout).toEqual({
      exitCode: c['execsnoop_exit.exit_code'], exitSignal: c['execsnoop_exit.exit_signal'],
      lifetimeNs: c['execsnoop_exit.lifetime_ns'], size: c['execsnoop_exit.sizeof'],
    });
  });
});
