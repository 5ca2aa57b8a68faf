#!/usr/bin/python3
# orders-api: a server that leaks a descriptor per request (it answers and never
# closes the connection) under a limit of 64. Once at the limit, accept() fails with
# EMFILE and it backs off the way Go's net/http does (5 ms, doubling to 1 s),
# so its accept queue fills and new connections are refused.
# argv: address, port (0: any, printed), counter file (EMFILE failures so far), seconds.
import ctypes, errno, os, resource, socket, sys, time

ctypes.CDLL(None).prctl(15, b'orders-api', 0, 0, 0)  # PR_SET_NAME
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
address, port, counter, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
# Opened now: at the limit there is no descriptor left to open it with.
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((address, port))
listener.listen(16)
print(listener.getsockname()[1], flush=True)
leaked, failures, delay = [], 0, 0.0
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        client, _ = listener.accept()
    except OSError as e:
        if e.errno not in (errno.EMFILE, errno.ENFILE):
            raise
        failures += 1
        os.pwrite(count_fd, b'%-12d\n' % failures, 0)
        delay = min(1.0, delay * 2 if delay else 0.005)
        time.sleep(delay)
        continue
    delay = 0.0
    client.sendall(b'ok\n')
    leaked.append(client)  # the bug: never closed, left in CLOSE_WAIT once the client hangs up
