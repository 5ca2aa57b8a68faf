// Overhead of oomkill on a storm of OOM kills: a C helper forks KILLS
// children one after another into a cgroup v1 memory cgroup limited to
// 16 MiB; each allocates until the kernel kills it. Untraced and traced runs
// alternate; traced, oomkill watches the whole host. Needs the v1 memory
// controller (/sys/fs/cgroup/memory); says so and stops when it is missing.
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { oomkill, type OomkillData } from '../src/captures/oomkill/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount, note } from './report.js';

const KILLS = 40;
const PAIRS = 4;
const LIMIT = 16 * 1024 * 1024;
const TIMEOUT_MS = 120_000;
const MEMCG_ROOT = '/sys/fs/cgroup/memory';

const OOM_STORM_C = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long kills = argc > 2 ? atol(argv[1]) : 0;
	int status;

	for (long i = 0; i < kills; i++) {
		pid_t child = fork();
		if (child < 0) return 2;
		if (child == 0) {
			FILE *procs = fopen(argv[2], "w");
			if (!procs || fprintf(procs, "%d\n", getpid()) < 0 || fclose(procs)) _exit(3);
			for (int mib = 0; mib < 1024; mib++) {
				volatile char *p = malloc(1 << 20);
				if (!p) _exit(4);
				for (int j = 0; j < (1 << 20); j += 4096) p[j] = 1;
			}
			_exit(5); /* 1 GiB under a 16 MiB limit: never reached */
		}
		if (waitpid(child, &status, 0) != child || !WIFSIGNALED(status) || WTERMSIG(status) != 9) return 6;
	}
	return 0;
}
`;

export async function oomkillOverhead(): Promise<void> {
  if (!existsSync(join(MEMCG_ROOT, 'memory.limit_in_bytes'))) {
    note(`skipped: no cgroup v1 memory controller at ${MEMCG_ROOT}`);
    return;
  }
  const tmp = new TempDir('oomkill');
  const cgroup = join(MEMCG_ROOT, `sherlock-bench-oom-${process.pid}`);
  mkdirSync(cgroup);
  try {
    writeFileSync(join(cgroup, 'memory.limit_in_bytes'), String(LIMIT));
    const helper = tmp.compileC('oom-storm', OOM_STORM_C);
    const args = [String(KILLS), join(cgroup, 'cgroup.procs')];
    const untraced = async () => {
      const run = await runTimed(helper, args, { timeoutMs: TIMEOUT_MS });
      if (run.code !== 0) throw new Error(`OOM storm failed: exit ${run.code ?? run.signal}`);
      return run.ms;
    };
    await untraced(); // warm-up
    await stormPairs<OomkillData>({
      title: `${PAIRS} pairs of ${KILLS} OOM kills in a 16 MiB memory cgroup, spawn→exit, order alternating`,
      pairs: PAIRS,
      untraced,
      traced: () => runTraced(oomkill, helper, args, TIMEOUT_MS),
      seen: (result) => `${fmtCount(result.events.filter((e) => e.limit?.cgroup === `/${cgroup.split('/').pop()}`).length)} kills`,
      target: 1.05,
    });
  } finally {
    tmp.remove();
    removeCgroup(cgroup);
  }
}

function removeCgroup(dir: string): void {
  for (let i = 0; i < 100; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch {
      // EBUSY until the last killed child is gone and its charges drained
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}
