// A JVM's JIT frames named without restarting it: after the window the stack
// captures ask the JVM for its perf map (jcmd PID Compiler.perfmap, JDK 17+),
// as the JVM's own user. Real kernel, a real JVM running as nobody.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { profile } from '../../src/captures/profile/index.js';
import { projectRoot } from '../../src/util/paths.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { jdkSkipReason, removeJvmLeftovers } from '../helpers/jdk.js';

const skip = kernelSkipReason() ?? jdkSkipReason();

const NOBODY = 65534;

describe.skipIf(skip)(`JIT frames of a running JVM${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  let jvm: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sherlock-jvm-'));
    chmodSync(dir, 0o755); // readable by the JVM's user
    // The evaluation's pricing-engine: one method hashing a table again and again, hot enough to be compiled.
    execFileSync('javac', ['-d', dir, join(projectRoot, 'test/eval/programs/Pricing.java')], { stdio: 'ignore', timeout: 60_000 });
    // No hsperfdata file left in /tmp: jcmd attaches by pid without it.
    jvm = spawn('java', ['-Xmx64m', '-XX:+UseSerialGC', '-XX:-UsePerfData', '-cp', dir, 'Pricing', '30'], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: dir,
      stdio: 'ignore',
    });
    await new Promise((r) => setTimeout(r, 2000)); // started, checksum compiled by C2
    expect(jvm.exitCode).toBeNull();
  }, 90_000);

  afterAll(() => {
    jvm?.kill('SIGKILL');
    if (jvm?.pid) removeJvmLeftovers(jvm.pid);
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 }));

  const hottest = async (jvmPerfMaps: boolean) => {
    const { result } = await captureAround(profile, () => new Promise((r) => setTimeout(r, 1500)), { target: { pid: [jvm!.pid!] }, params: { jvmPerfMaps } });
    const leaves = new Map<string, number>();
    for (const s of result.stacks) {
      const leaf = s.frames.at(-1)!;
      if (leaf.kind !== 'kernel') leaves.set(leaf.name, (leaves.get(leaf.name) ?? 0) + s.value);
    }
    // Its threads are named by the JVM ("C2 CompilerThre", "VM Thread"); the process by its main thread's name, where they differ.
    const otherNames = result.stacks.some((s) => s.pid === jvm!.pid && s.comm !== 'java');
    expect(result.processNames?.[jvm!.pid!]).toBe(otherNames ? 'java' : undefined);
    return [...leaves].sort((a, b) => b[1] - a[1])[0]!;
  };

  it("names the hot Java method from the perf map the JVM writes when asked (jcmd, as the JVM's user); unasked, it is JIT code", async () => {
    const [unnamed] = await hottest(false);
    expect(unnamed).toBe('[JIT code]');
    const [named, samples] = await hottest(true);
    expect(named).toMatch(/Pricing[.:]+checksum/);
    expect(samples).toBeGreaterThan(50);
    expect(existsSync(`/tmp/perf-${jvm!.pid}.map`)).toBe(true);
  }, 60_000);
});
