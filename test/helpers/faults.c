/* Small programs that make faults happen for real, for the capture tests:
 *   faults hog MIB            touch MIB MiB, print "ready", sleep (at most 60 s)
 *   faults alloc MAX_MIB      touch 1 MiB after another, up to MAX_MIB
 *   faults segv               write through a null pointer
 *   faults exit CODE          exit with CODE
 *   faults sleep SECONDS      sleep (a target for kill)
 *   faults failopen PATH N    try to open PATH N times (fails when it is missing)
 *   faults okopen PATH N      open and close PATH N times
 *   faults eagain N           read an empty non-blocking pipe N times (EAGAIN) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes every page through a volatile pointer: the compiler may not drop it. */
static char *touched(long bytes)
{
	volatile char *p = malloc(bytes);

	for (long i = 0; p && i < bytes; i += 4096)
		p[i] = 1;
	return (char *)p;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	long n = argc > 2 ? atol(argv[2]) : 0;

	if (!strcmp(mode, "hog")) {
		if (!touched(n << 20))
			return 2;
		printf("ready\n");
		fflush(stdout);
		sleep(60);
		return 0;
	}
	if (!strcmp(mode, "alloc")) {
		for (long i = 0; i < n; i++) {
			if (!touched(1 << 20))
				return 2;
		}
		return 0;
	}
	if (!strcmp(mode, "segv")) {
		volatile int *p = NULL;
		*p = 1;
		return 0;
	}
	if (!strcmp(mode, "exit"))
		return (int)n;
	if (!strcmp(mode, "sleep")) {
		sleep((unsigned)n);
		return 0;
	}
	if ((!strcmp(mode, "failopen") || !strcmp(mode, "okopen")) && argc > 3) {
		long count = atol(argv[3]);
		for (long i = 0; i < count; i++) {
			int fd = open(argv[2], O_RDONLY);
			if (fd >= 0)
				close(fd);
		}
		return 0;
	}
	if (!strcmp(mode, "eagain")) {
		int fds[2];
		char c;

		if (pipe2(fds, O_NONBLOCK))
			return 2;
		for (long i = 0; i < n; i++)
			if (read(fds[0], &c, 1) >= 0)
				return 3;
		return 0;
	}
	fprintf(stderr, "usage: faults hog|alloc|segv|exit|sleep|failopen|okopen|eagain ...\n");
	return 64;
}
