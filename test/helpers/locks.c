/* Threads stuck on pthread mutexes, for the mutex-owner tests:
 *   locks deadlock   ledger-a holds mutex a and waits for b; ledger-b holds b
 *                    and waits for a (a lock order inversion): stuck for good
 *   locks held N     holder takes mutex m and blocks reading stdin; N workers
 *                    wait for m until stdin ends
 *   locks busy N     N threads take m in turn, holding it 200 us each time,
 *                    until stdin ends: contended, never stuck
 * Each prints "ready" once its threads are blocked. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER, m = PTHREAD_MUTEX_INITIALIZER;

static void *ledger_a(void *arg)
{
	pthread_setname_np(pthread_self(), "ledger-a");
	pthread_mutex_lock(&a);
	usleep(100000);
	pthread_mutex_lock(&b);
	return arg;
}

static void *ledger_b(void *arg)
{
	pthread_setname_np(pthread_self(), "ledger-b");
	pthread_mutex_lock(&b);
	usleep(100000);
	pthread_mutex_lock(&a);
	return arg;
}

static void *holder(void *arg)
{
	char c;

	pthread_setname_np(pthread_self(), "holder");
	pthread_mutex_lock(&m);
	while (read(0, &c, 1) > 0)
		;
	pthread_mutex_unlock(&m);
	return arg;
}

static void *worker(void *arg)
{
	pthread_setname_np(pthread_self(), "worker");
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	return arg;
}

static volatile int busy_done;

static void *busy(void *arg)
{
	pthread_setname_np(pthread_self(), "busy");
	while (!busy_done) {
		pthread_mutex_lock(&m);
		usleep(200);
		pthread_mutex_unlock(&m);
	}
	return arg;
}

static void ready(void)
{
	usleep(300000);
	printf("ready\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	pthread_t t[16];
	int n = argc > 2 ? atoi(argv[2]) : 0;

	if (argc > 1 && !strcmp(argv[1], "deadlock")) {
		pthread_create(&t[0], NULL, ledger_a, NULL);
		pthread_create(&t[1], NULL, ledger_b, NULL);
		ready();
		pthread_join(t[0], NULL);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "held") && n > 0 && n < 16) {
		pthread_create(&t[0], NULL, holder, NULL);
		usleep(50000);
		for (int i = 1; i <= n; i++)
			pthread_create(&t[i], NULL, worker, NULL);
		ready();
		for (int i = 0; i <= n; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "busy") && n > 0 && n < 16) {
		char c;

		for (int i = 0; i < n; i++)
			pthread_create(&t[i], NULL, busy, NULL);
		ready();
		while (read(0, &c, 1) > 0)
			;
		busy_done = 1;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		return 0;
	}
	fprintf(stderr, "usage: locks deadlock | held N | busy N\n");
	return 64;
}
