// Overhead of tcpresponse on request/response storms over loopback: a C
// helper forks a client and a server joined by one TCP connection and makes
// ROUND_TRIPS one-byte requests and answers, each a send and a readable
// socket on both sides (four program runs a round trip, and every answer
// timed); then, with "per-connection", CONNECTIONS requests each on a new
// connection (HTTP/1.0's way: the server's side remembered when the request
// arrives, owned at its answer). That helper listens LISTEN_WAIT first, so
// that the capture has learned its port (it reads listeners every 5 s), and
// prints how long its storm took, which is what is compared. Untraced and
// traced runs alternate; traced, tcpresponse watches the whole host.
import { tcpresponse, type TcpresponseData } from '../src/captures/tcpresponse/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount } from './report.js';

const ROUND_TRIPS = 100_000;
const CONNECTIONS = 10_000;
/** Longer than tcpresponse's listener refresh (LISTENERS_REFRESH_MS). */
const LISTEN_WAIT_MS = 5500;
const PAIRS = 6;
const TIMEOUT_MS = 120_000;

const PING_PONG_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	int per_connection = argc > 2;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);
	char c = 'q';

	if (n <= 0 || bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 64) || getsockname(listener, (struct sockaddr *)&addr, &len))
		return 2;
	if (per_connection) {
		double start;

		usleep(atol(argv[2]) * 1000);
		start = now_ms();
		if (fork() == 0) {
			for (long i = 0; i < n; i++) {
				int s = accept(listener, 0, 0);
				if (s < 0 || read(s, &c, 1) != 1 || write(s, &c, 1) != 1) return 3;
				close(s);
			}
			return 0;
		}
		for (long i = 0; i < n; i++) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			if (connect(s, (struct sockaddr *)&addr, len) || write(s, &c, 1) != 1 || read(s, &c, 1) != 1) return 4;
			close(s);
		}
		wait(0);
		printf("%.3f\n", now_ms() - start);
		return 0;
	}
	if (fork() == 0) {
		int s = accept(listener, 0, 0);
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		while (read(s, &c, 1) == 1)
			if (write(s, &c, 1) != 1) return 3;
		return 0;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&addr, len)) return 4;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < n; i++)
		if (write(s, &c, 1) != 1 || read(s, &c, 1) != 1) return 5;
	close(s);
	wait(0);
	return 0;
}
`;

export async function tcpresponseOverhead(): Promise<void> {
  const tmp = new TempDir('tcpresponse');
  try {
    const helper = tmp.compileC('ping-pong', PING_PONG_C);
    // selfTimed: the helper prints how long its storm took (after a wait that is no part of it).
    const storm = async (args: string[], title: string, seen: (result: TcpresponseData, run: { pid: number }) => string, selfTimed = false) => {
      const timed = <R extends { ms: number; stdout: string; code: number | null; signal: NodeJS.Signals | null }>(run: R): R => {
        if (run.code !== 0) throw new Error(`ping-pong failed: exit ${run.code ?? run.signal}`);
        return selfTimed ? { ...run, ms: Number(run.stdout.trim()) } : run;
      };
      const untraced = async () => timed(await runTimed(helper, args, { timeoutMs: TIMEOUT_MS })).ms;
      await untraced(); // warm-up
      await stormPairs<TcpresponseData>({
        title,
        pairs: PAIRS,
        untraced,
        traced: async () => {
          const t = await runTraced(tcpresponse, helper, args, TIMEOUT_MS);
          return { ...t, run: timed(t.run) };
        },
        seen,
        target: 1.1,
      });
    };
    // The client is the helper itself; its forked server answers.
    await storm(
      [String(ROUND_TRIPS)],
      `${PAIRS} pairs of ${fmtCount(ROUND_TRIPS)} one-byte round trips over one loopback connection, spawn→exit, order alternating`,
      (result, run) => `${fmtCount(result.rows.find((r) => r.pid === run.pid && r.role === 'client')?.answers ?? 0)} answers timed`,
    );
    await storm(
      [String(CONNECTIONS), String(LISTEN_WAIT_MS)],
      `${PAIRS} pairs of ${fmtCount(CONNECTIONS)} one-byte requests, each on a new loopback connection to a listener the capture knows, the storm timed by the helper, order alternating`,
      (result, run) => {
        const answers = (role: string, mine: boolean) =>
          result.rows.filter((r) => r.role === role && (r.pid === run.pid) === mine).reduce((n, r) => n + r.answers, 0);
        return `${fmtCount(answers('client', true))} answers timed by the client, ${fmtCount(answers('server', false))} by the server`;
      },
      true,
    );
  } finally {
    tmp.remove();
  }
}
