// Tests that start a JVM need a JDK on this host: java to run it, javac to
// compile its program, jcmd for Sherlock to ask it for its perf map.
import { readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onPath } from '../../src/util/on-path.js';

/** Why a JVM test cannot run here, or undefined when it can. */
export const jdkSkipReason = (): string | undefined =>
  ['java', 'javac', 'jcmd'].every((tool) => onPath(tool)) ? undefined : 'no JDK here (java, javac, jcmd)';

/**
 * What a JVM killed by a test leaves in /tmp: the perf map it wrote when Sherlock asked, its attach socket
 * (jcmd's), its performance counters (hsperfdata, unless -XX:-UsePerfData) and their directory when no other JVM's are in it.
 */
export function removeJvmLeftovers(pid: number): void {
  for (const file of [`/tmp/perf-${pid}.map`, `/tmp/.java_pid${pid}`]) rmSync(file, { force: true });
  for (const dir of readdirSync('/tmp').filter((d) => d.startsWith('hsperfdata_'))) {
    rmSync(join('/tmp', dir, String(pid)), { force: true });
    try {
      rmdirSync(join('/tmp', dir)); // only when empty
    } catch {
      // another JVM's counters are in it
    }
  }
}
