/* A ping-pong over two pipes with a forked echo, argv[1] round trips: the
 * parent reads each answer alternately in sherlock_wait_a_51e9 and
 * sherlock_wait_b_51e9 (one frame size: built optimized, the same registers at
 * the read), the echo always in sherlock_echo_51e9. Prints the round trips
 * read in each of the two, and the CPU time of both processes in µs. For
 * offcputime's repeated snapshots (test/captures/offcputime-repeats.test.ts,
 * bench/offcputime-repeats.ts). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int last;

__attribute__((noinline)) void sherlock_wait_a_51e9(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		exit(3);
	last = 1;
}

__attribute__((noinline)) void sherlock_wait_b_51e9(int fd)
{
	char c;
	if (read(fd, &c, 1) != 1)
		exit(3);
	last = 2;
}

__attribute__((noinline)) int sherlock_echo_51e9(int in, int out)
{
	char c;
	return read(in, &c, 1) == 1 && write(out, &c, 1) == 1;
}

static double cpu_us(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec * 1e6 + ru->ru_utime.tv_usec + ru->ru_stime.tv_sec * 1e6 + ru->ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
	int ask[2], answer[2], n = atoi(argv[1]), a = 0, b = 0;
	struct rusage self, child;

	if (argc < 2 || pipe(ask) || pipe(answer))
		return 1;
	if (fork() == 0) {
		close(ask[1]);
		while (sherlock_echo_51e9(ask[0], answer[1]))
			;
		_exit(0);
	}
	close(ask[0]);
	for (int i = 0; i < n; i++) {
		if (write(ask[1], "x", 1) != 1)
			return 2;
		if (i % 2)
			sherlock_wait_b_51e9(answer[0]), b++;
		else
			sherlock_wait_a_51e9(answer[0]), a++;
	}
	close(ask[1]);
	wait(NULL);
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &child);
	printf("%d %d %.0f\n", a, b, cpu_us(&self) + cpu_us(&child));
	return 0;
}
