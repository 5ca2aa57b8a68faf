// Overhead of tcpflow, whose program runs on every segment an established
// TCP socket receives (tcp:tcp_probe): a C helper forks a server and a client
// joined by one loopback connection and makes ROUND_TRIPS one-byte requests
// and answers (a probe on each side per round trip: the most probes per byte),
// then sends BULK_MIB in 64 KiB writes (loopback's 64 KiB segments: few probes
// per byte). Untraced and traced runs alternate; traced, tcpflow watches the
// whole host.
import { tcpflow, type TcpflowData } from '../src/captures/tcpflow/index.js';
import { stormPairs, runTraced } from './capture-storm.js';
import { runTimed, TempDir } from './processes.js';
import { fmtCount } from './report.js';

const ROUND_TRIPS = 100_000;
const BULK_MIB = 4096;
const PAIRS = 6;
const TIMEOUT_MS = 120_000;

const TRANSFER_C = String.raw`
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static char buf[65536];

int main(int argc, char **argv)
{
	long n = argc > 2 ? atol(argv[2]) : 0;
	int bulk = argc > 1 && !strcmp(argv[1], "bulk");
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	int one = 1, listener = socket(AF_INET, SOCK_STREAM, 0);

	if (n <= 0 || bind(listener, (struct sockaddr *)&addr, len) || listen(listener, 1) || getsockname(listener, (struct sockaddr *)&addr, &len))
		return 2;
	if (fork() == 0) {
		int s = accept(listener, 0, 0);
		long got;
		setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (bulk) {
			while ((got = read(s, buf, sizeof(buf))) > 0)
				;
			return 0;
		}
		while (read(s, buf, 1) == 1)
			if (write(s, buf, 1) != 1) return 3;
		return 0;
	}
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(s, (struct sockaddr *)&addr, len)) return 4;
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	for (long i = 0; i < n; i++) {
		if (bulk) {
			for (long sent = 0; sent < (1L << 20);) {
				long w = write(s, buf, sizeof(buf));
				if (w <= 0) return 5;
				sent += w;
			}
		} else if (write(s, buf, 1) != 1 || read(s, buf, 1) != 1)
			return 5;
	}
	close(s);
	wait(0);
	return 0;
}
`;

export async function tcpflowOverhead(): Promise<void> {
  const tmp = new TempDir('tcpflow');
  try {
    const helper = tmp.compileC('transfer', TRANSFER_C);
    const storm = async (args: string[], title: string) => {
      const untraced = async () => {
        const run = await runTimed(helper, args, { timeoutMs: TIMEOUT_MS });
        if (run.code !== 0) throw new Error(`transfer failed: exit ${run.code ?? run.signal}`);
        return run.ms;
      };
      await untraced(); // warm-up
      await stormPairs<TcpflowData>({
        title,
        pairs: PAIRS,
        untraced,
        traced: () => runTraced(tcpflow, helper, args, TIMEOUT_MS),
        seen: (result) => `${fmtCount(result.flows.filter((f) => f.local.startsWith('127.0.0.1:')).length)} loopback connections`,
        target: 1.05,
      });
    };
    await storm(
      ['ping-pong', String(ROUND_TRIPS)],
      `${PAIRS} pairs of ${fmtCount(ROUND_TRIPS)} one-byte round trips over one loopback connection, spawn→exit, order alternating`,
    );
    await storm(
      ['bulk', String(BULK_MIB)],
      `${PAIRS} pairs of ${fmtCount(BULK_MIB)} MiB sent over one loopback connection in 64 KiB writes, spawn→exit, order alternating`,
    );
  } finally {
    tmp.remove();
  }
}
