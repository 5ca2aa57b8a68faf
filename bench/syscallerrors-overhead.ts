// Overhead of syscallerrors on a syscall storm: a C helper makes ITERATIONS
// rounds of 8 syscalls, 3 failing (openat of a missing config file: ENOENT
// with a path read; read of an empty non-blocking pipe: EAGAIN, no fd kept;
// write to a pipe whose reader is closed: EPIPE, its fd kept) and 5
// succeeding (getppid ×3, open + close of /dev/null). Untraced and traced
// runs alternate; traced, syscallerrors watches the whole host.
import { syscallerrors, type SyscallerrorsData } from '../src/captures/syscallerrors/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount } from './report.js';

const ITERATIONS = 100_000;
const PAIRS = 6;
const TIMEOUT_MS = 120_000;
const MISSING = '/nonexistent/sherlock-bench/app.conf';

const SYSCALL_STORM_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[1]) : 0;
	int fds[2], broken[2];
	char c;

	if (n <= 0 || pipe2(fds, O_NONBLOCK) || pipe(broken)) return 2;
	close(broken[0]);
	signal(SIGPIPE, SIG_IGN);
	for (long i = 0; i < n; i++) {
		if (open(argv[2], O_RDONLY) >= 0) return 3;
		if (read(fds[0], &c, 1) >= 0) return 4;
		if (write(broken[1], "x", 1) >= 0) return 6;
		getppid(); getppid(); getppid();
		int fd = open("/dev/null", O_RDONLY);
		if (fd < 0) return 5;
		close(fd);
	}
	return 0;
}
`;

export async function syscallerrorsOverhead(): Promise<void> {
  const tmp = new TempDir('syscallerrors');
  try {
    const helper = tmp.compileC('syscall-storm', SYSCALL_STORM_C);
    const args = [String(ITERATIONS), MISSING];
    const untraced = async () => {
      const run = await runTimed(helper, args, { timeoutMs: TIMEOUT_MS });
      if (run.code !== 0) throw new Error(`syscall storm failed: exit ${run.code ?? run.signal}`);
      return run.ms;
    };
    await untraced(); // warm-up
    await stormPairs<SyscallerrorsData>({
      title: `${PAIRS} pairs of ${fmtCount(ITERATIONS)} rounds × (3 failing + 5 succeeding syscalls), spawn→exit, order alternating`,
      pairs: PAIRS,
      untraced,
      traced: () => runTraced(syscallerrors, helper, args, TIMEOUT_MS),
      seen: (result, run) => {
        const mine = result.rows.filter((r) => r.pid === run.pid);
        return `${fmtCount(mine.reduce((a, r) => a + r.count, 0))} failures`;
      },
      target: 1.1,
    });
  } finally {
    tmp.remove();
  }
}
