#!/usr/bin/python3
# orders-api: answers each request line on 127.0.0.1:argv[1] and logs a line
# per request to its stdout, a pipe read by a log shipper (a child,
# "log-shipper") that ships 4 KiB at a time and then waits 0.2 s on its
# upstream: the pipe fills, and every log write waits for the shipper. A load
# generator (a child, "loadgen") sends requests back to back for argv[3]
# seconds. Keeps in file argv[2] the time its log writes have waited, in ms.
import ctypes, os, socket, sys, time

prctl = ctypes.CDLL(None).prctl
port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
listener = socket.create_server(('127.0.0.1', port))
end = time.monotonic() + seconds

if os.fork() == 0:
    prctl(15, b'loadgen', 0, 0, 0)  # PR_SET_NAME
    client = socket.create_connection(('127.0.0.1', port))
    answers = client.makefile('rb')
    while time.monotonic() < end:
        client.sendall(b'GET /orders/42\n')
        if not answers.readline():
            break
    os._exit(0)

r, w = os.pipe()
if os.fork() == 0:
    prctl(15, b'log-shipper', 0, 0, 0)
    os.close(w)
    while time.monotonic() < end and os.read(r, 4096):
        time.sleep(0.2)  # its upstream is slow
    os._exit(0)

prctl(15, b'orders-api', 0, 0, 0)
os.close(r)
os.dup2(w, 1)
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = 0.0
conn, _ = listener.accept()
with conn, conn.makefile('rb') as requests:
    for n, _ in enumerate(requests):
        line = b'%.3f INFO GET /orders/42 200 user=4711 items=3 total=59.90 took=1ms request=%08d\n' % (time.time(), n)
        start = time.monotonic()
        os.write(1, line)
        waited += time.monotonic() - start
        os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
        conn.sendall(b'200 OK\n')
