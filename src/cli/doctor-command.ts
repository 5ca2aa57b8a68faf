// `sherlock doctor`: can this host run captures? Each check says what it
// found and, when it fails, what to do. Ends with a real 1 s execsnoop that
// must see an exec the doctor makes itself.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { release } from 'node:os';
import { execsnoop } from '../captures/execsnoop/index.js';
import { captures } from '../captures/registry.js';
import { runCapture } from '../captures/run-capture.js';
import { BpfObject, hasKprobes, missingTracingCapabilities, tracingRoot } from '../libbpf/index.js';
import { lib } from '../libbpf/native.js';
import { bpfObjectPath } from '../util/paths.js';

interface Check {
  name: string;
  run(): string | Promise<string>; // what was found; throws with what to do
}

const checks: Check[] = [
  { name: 'kernel', run: () => release() },
  {
    name: 'kernel BTF',
    run: () => {
      if (!existsSync('/sys/kernel/btf/vmlinux')) throw new Error('missing /sys/kernel/btf/vmlinux: CO-RE needs CONFIG_DEBUG_INFO_BTF=y');
      return '/sys/kernel/btf/vmlinux';
    },
  },
  { name: 'libbpf', run: () => `libbpf.so.1 v${lib().libbpf_major_version()}.${lib().libbpf_minor_version()}` },
  {
    name: 'privileges',
    run: () => {
      const missing = missingTracingCapabilities();
      if (missing.length) throw new Error(`missing ${missing.join(' and ')}: run as root`);
      return 'CAP_BPF + CAP_PERFMON';
    },
  },
  { name: 'tracefs', run: () => tracingRoot() },
  { name: 'kprobes', run: () => (hasKprobes() ? 'available' : 'not in this kernel (captures use tracepoints; fine)') },
  {
    name: 'BPF objects',
    run: () => {
      const withObject = [...captures.values()].filter((d) => !d.sample); // sampled captures have none
      for (const def of withObject) BpfObject.open(bpfObjectPath(def.name)).close();
      return `${withObject.length} built and parsed`;
    },
  },
  {
    name: 'live execsnoop',
    run: async () => {
      const marker = `sherlock-doctor-${process.pid}`;
      const result = await runCapture(execsnoop, {
        durationMs: 1000,
        onLive: () => void spawnSync('/bin/true', [marker]),
      });
      if (!result.events.some((e) => e.argv.includes(marker))) throw new Error('the capture did not see /bin/true run');
      return `saw the test exec; attach took ${(result.timings.openMs + result.timings.loadMs + result.timings.attachMs).toFixed(1)}ms`;
    },
  },
];

export async function doctorCommand(): Promise<number> {
  let failed = 0;
  for (const check of checks) {
    try {
      process.stdout.write(`ok    ${check.name.padEnd(16)} ${await check.run()}\n`);
    } catch (err) {
      failed++;
      process.stdout.write(`FAIL  ${check.name.padEnd(16)} ${(err as Error).message}\n`);
    }
  }
  process.stdout.write(failed ? `\n${failed} check(s) failed\n` : '\nthis host can run Sherlock captures\n');
  return failed ? 1 : 0;
}
