// Overhead of signals on a storm of its own events: a C helper sends itself
// SIGNALS SIGTERMs (handled: each is delivered and recorded) and forks
// CHILDREN children that exit with code 1 (each end recorded). Untraced and
// traced runs alternate; traced, signals watches the whole host.
import { signals, type SignalsData } from '../src/captures/signals/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount } from './report.js';

const SIGNALS = 10_000; // with the ends, within the default event cap (20,000 records): nothing dropped by design
const CHILDREN = 1000;
const PAIRS = 6;
const TIMEOUT_MS = 120_000;

const SIGNAL_STORM_C = String.raw`
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long handled;
static void on_term(int sig) { (void)sig; handled++; }

int main(int argc, char **argv)
{
	long signals = argc > 2 ? atol(argv[1]) : 0, children = argc > 2 ? atol(argv[2]) : 0;
	int status;

	signal(SIGTERM, on_term);
	for (long i = 0; i < signals; i++) kill(getpid(), SIGTERM);
	for (long i = 0; i < children; i++) {
		pid_t child = fork();
		if (child < 0) return 2;
		if (child == 0) _exit(1);
		if (waitpid(child, &status, 0) != child) return 3;
	}
	return handled == signals ? 0 : 4;
}
`;

export async function signalsOverhead(): Promise<void> {
  const tmp = new TempDir('signals');
  try {
    const helper = tmp.compileC('signal-storm', SIGNAL_STORM_C);
    const args = [String(SIGNALS), String(CHILDREN)];
    const untraced = async () => {
      const run = await runTimed(helper, args, { timeoutMs: TIMEOUT_MS });
      if (run.code !== 0) throw new Error(`signal storm failed: exit ${run.code ?? run.signal}`);
      return run.ms;
    };
    await untraced(); // warm-up
    await stormPairs<SignalsData>({
      title: `${PAIRS} pairs of ${fmtCount(SIGNALS)} handled SIGTERMs + ${fmtCount(CHILDREN)} fork/exit(1), spawn→exit, order alternating`,
      pairs: PAIRS,
      untraced,
      traced: () => runTraced(signals, helper, [...args], TIMEOUT_MS),
      seen: (result) =>
        `${fmtCount(result.events.filter((e) => e.kind === 'signal').length)} signals, ${fmtCount(result.events.filter((e) => e.kind === 'exit').length)} ends`,
      target: 1.1,
    });
  } finally {
    tmp.remove();
  }
}
