/* A program that crashes where the tests can name it, compiled with DWARF:
 *   crasher crash     read a header through a null pointer in parse_header,
 *                     which is inlined into handle_request
 *   crasher wait      sleep 30 s (a running instance that maps the file) */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct request {
	const char *header;
};

static inline __attribute__((always_inline)) int parse_header(const struct request *r)
{
	char first = *(volatile const char *)r->header;

	return first == 'G';
}

__attribute__((noinline)) int handle_request(const struct request *r)
{
	return parse_header(r) + 1;
}

int main(int argc, char **argv)
{
	struct request bad = { 0 };

	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		sleep(30);
		return 0;
	}
	return handle_request(argc > 2 ? (struct request *)argv : &bad);
}
