/* A service as its supervisor sees it, for the restart incidents:
 *   service config PATH     open its config PATH; exit 78 (EX_CONFIG) when it cannot
 *   service alloc MIB       build a cache of MIB MiB, then serve (killed first under a lower memory limit)
 *   service serve SECONDS   serve (sleep): a target for a killer
 *   service request PATH    handle the request queued in PATH: one without a Host header
 *                           crashes it (a null pointer read in parse_header)
 *   service transfer        two threads move money between two accounts, each locking the
 *                           source account first: they deadlock (a lock order inversion)
 *   service ledger THREADS SECONDS COUNTER
 *                           THREADS threads append to one ledger under one mutex (held 200 µs
 *                           each time) for SECONDS; COUNTER gets the µs they waited for it, summed
 *   service listen PORT     listen on 0.0.0.0:PORT and serve; exit 1 when the port is taken (EADDRINUSE) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static double ledger_end_us, waited_us[64];

__attribute__((noinline)) static double ledger_append(void)
{
	double t0 = now_us(), waited;

	pthread_mutex_lock(&ledger_lock);
	waited = now_us() - t0;
	usleep(200);
	pthread_mutex_unlock(&ledger_lock);
	return waited;
}

static void *ledger_writer(void *arg)
{
	long i = (long)arg;

	while (now_us() < ledger_end_us)
		waited_us[i] += ledger_append();
	return NULL;
}

static int ledger(int threads, int seconds, const char *counter)
{
	pthread_t t[64];

	if (threads < 1 || threads > 64 || seconds < 1 || seconds > 60)
		return 64;
	ledger_end_us = now_us() + seconds * 1e6;
	for (long i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, ledger_writer, (void *)i);
	while (now_us() < ledger_end_us) {
		double total = 0;
		FILE *f;

		usleep(50000);
		for (int i = 0; i < threads; i++)
			total += waited_us[i];
		f = fopen(counter, "w");
		if (f) {
			fprintf(f, "%.0f\n", total);
			fclose(f);
		}
	}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}

struct request {
	char line[256];
	const char *host; /* the Host header's value, NULL when there is none */
};

/* The length of the Host header's value: the bug is that it trusts the header to be there. */
__attribute__((noinline)) static size_t parse_header(const struct request *r)
{
	size_t n = 0;

	while (r->host[n] && r->host[n] != '\r' && r->host[n] != '\n')
		n++;
	return n;
}

static int handle_request(const char *path)
{
	struct request r = { "", NULL };
	FILE *f = fopen(path, "r");
	size_t got = f ? fread(r.line, 1, sizeof(r.line) - 1, f) : 0;
	char *host;

	r.line[got] = 0;
	host = strstr(r.line, "Host: ");
	r.host = host ? host + 6 : NULL;
	return parse_header(&r) ? 0 : 65;
}

struct account {
	pthread_mutex_t lock;
	long balance;
};

static struct account accounts[2] = { { PTHREAD_MUTEX_INITIALIZER, 1000 }, { PTHREAD_MUTEX_INITIALIZER, 1000 } };

/* Locks the source, then the destination: two transfers in opposite directions wait for each other. */
__attribute__((noinline)) static void transfer(struct account *from, struct account *to, long amount)
{
	pthread_mutex_lock(&from->lock);
	usleep(1000); /* the ledger write */
	pthread_mutex_lock(&to->lock);
	from->balance -= amount;
	to->balance += amount;
	pthread_mutex_unlock(&to->lock);
	pthread_mutex_unlock(&from->lock);
}

static void *transfers(void *arg)
{
	long i = (long)arg;

	pthread_setname_np(pthread_self(), i ? "transfer-in" : "transfer-out");
	for (;;)
		transfer(&accounts[i], &accounts[1 - i], 1);
	return NULL;
}

static int transfer_loop(void)
{
	pthread_t t[2];

	for (long i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, transfers, (void *)i);
	pthread_join(t[0], NULL);
	return 0;
}

/* Listens on 0.0.0.0:port (SO_REUSEADDR, as servers do) and serves; 1 when the port is taken. */
static int listen_on(int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr = { htonl(INADDR_ANY) } };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128))
		return 1;
	sleep(60);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 2 ? argv[1] : "";

	if (!strcmp(mode, "config")) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			return 78;
		close(fd);
		return 0;
	}
	if (!strcmp(mode, "alloc")) {
		long bytes = atol(argv[2]) << 20;
		volatile char *cache = malloc(bytes);

		for (long i = 0; cache && i < bytes; i += 4096)
			cache[i] = 1;
		sleep(60);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "transfer"))
		return transfer_loop();
	if (!strcmp(mode, "request"))
		return handle_request(argv[2]);
	if (!strcmp(mode, "serve")) {
		sleep((unsigned)atoi(argv[2]));
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "listen"))
		return listen_on(atoi(argv[2]));
	if (!strcmp(mode, "ledger") && argc > 4)
		return ledger(atoi(argv[2]), atoi(argv[3]), argv[4]);
	fprintf(stderr, "usage: service config PATH | alloc MIB | serve SECONDS | request PATH | transfer | ledger THREADS SECONDS COUNTER | listen PORT\n");
	return 64;
}
