/* Small programs that make faults happen for real, for the capture tests:
 *   faults hog MIB            touch MIB MiB, print "ready", sleep (at most 60 s)
 *   faults alloc MAX_MIB      touch 1 MiB after another, up to MAX_MIB
 *   faults segv               write through a null pointer
 *   faults exit CODE          exit with CODE
 *   faults sleep SECONDS      sleep (a target for kill)
 *   faults failopen PATH N    try to open PATH N times (fails when it is missing)
 *   faults okopen PATH N      open and close PATH N times
 *   faults eagain N           read an empty non-blocking pipe N times (EAGAIN)
 *   faults fillwrite PATH N   append 4 KiB to PATH N times (ENOSPC once its disk is full),
 *                             print "done", keep PATH open until stdin ends
 *   faults sockets PORT N     connect to 127.0.0.1:PORT, read it N times non-blocking
 *                             (EAGAIN), wait for the peer to close, write N times
 *                             (EPIPE), print "done", keep it open until stdin ends */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
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

/* Says "done" and keeps its fds open until stdin ends (the test reads them meanwhile). */
static int held_until_stdin_ends(void)
{
	char c;

	printf("done\n");
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
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
	if (!strcmp(mode, "fillwrite") && argc > 3) {
		static char block[4096];
		long count = atol(argv[3]);
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd < 0)
			return 2;
		for (long i = 0; i < count; i++)
			(void)!write(fd, block, sizeof(block));
		return held_until_stdin_ends();
	}
	if (!strcmp(mode, "sockets") && argc > 3) {
		struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((unsigned short)n) };
		long count = atol(argv[3]);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		char c;

		addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)))
			return 2;
		fcntl(fd, F_SETFL, O_NONBLOCK);
		for (long i = 0; i < count; i++)
			if (read(fd, &c, 1) >= 0)
				break;
		/* The peer closes: read returns 0 (at most 10 s). */
		for (int i = 0; i < 10000 && read(fd, &c, 1) != 0; i++)
			usleep(1000);
		signal(SIGPIPE, SIG_IGN);
		for (long i = 0; i < count; i++) {
			(void)!write(fd, "x", 1);
			if (i < 2)
				usleep(20000); /* the peer's reset arrives: later writes fail with EPIPE */
		}
		return held_until_stdin_ends();
	}
	fprintf(stderr, "usage: faults hog|alloc|segv|exit|sleep|failopen|okopen|eagain|fillwrite|sockets ...\n");
	return 64;
}
