// Overhead of tcpresponse on a request/response storm over loopback: a C
// helper forks a client and a server joined by one TCP connection and makes
// ROUND_TRIPS one-byte requests and answers, each a send and a readable
// socket on both sides (four program runs a round trip, and every answer
// timed). Untraced and traced runs alternate; traced, tcpresponse watches
// the whole host.
import { tcpresponse, type TcpresponseData } from '../src/captures/tcpresponse/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount } from './report.js';

const ROUND_TRIPS = 100_000;
const PAIRS = 6;
const TIMEOUT_MS = 120_000;

const PING_PONG_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);
	char c = 'q';

	if (n <= 0 || bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 1) || getsockname(listener, (struct sockaddr *)&addr, &len))
		return 2;
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
    const args = [String(ROUND_TRIPS)];
    const untraced = async () => {
      const run = await runTimed(helper, args, { timeoutMs: TIMEOUT_MS });
      if (run.code !== 0) throw new Error(`ping-pong failed: exit ${run.code ?? run.signal}`);
      return run.ms;
    };
    await untraced(); // warm-up
    await stormPairs<TcpresponseData>({
      title: `${PAIRS} pairs of ${fmtCount(ROUND_TRIPS)} one-byte round trips over one loopback connection, spawn→exit, order alternating`,
      pairs: PAIRS,
      untraced,
      traced: () => runTraced(tcpresponse, helper, args, TIMEOUT_MS),
      // The client is the helper itself; its forked server answers.
      seen: (result, run) => {
        const client = result.rows.find((r) => r.pid === run.pid && r.role === 'client');
        return `${fmtCount(client?.answers ?? 0)} answers timed`;
      },
      target: 1.1,
    });
  } finally {
    tmp.remove();
  }
}
