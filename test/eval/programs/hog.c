/* A CPU hog with a function of its own name: burns one CPU in
 * checksum_spin until the time (seconds) in argv[1] is up. */
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

volatile uint64_t sink;

__attribute__((noinline)) void checksum_spin(void)
{
	for (uint64_t i = 0; i < 5000000ULL; i++)
		sink += i * 2654435761u;
}

int main(int argc, char **argv)
{
	time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 10);

	while (time(NULL) < end)
		checksum_spin();
	return 0;
}
