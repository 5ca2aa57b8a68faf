#!/usr/bin/python3
# events-api: answers each request line on 127.0.0.1:argv[1] after sending
# the event it makes (16 KiB) over one TCP connection to a metrics sink (a
# child, "metrics-sink") that reads 16 KiB and then works 0.1 s on it: the
# connection's buffers fill, and every send waits for the sink. A load
# generator (a child, "loadgen") sends requests back to back for argv[3]
# seconds. Keeps in file argv[2] the time its sends have waited, in ms.
import ctypes, os, socket, sys, time

prctl = ctypes.CDLL(None).prctl
port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
listener = socket.create_server(('127.0.0.1', port))
sink_listener = socket.socket()
# Small buffers, as a sink and a client that set them (or a busy host's memory) would have: waits of
# a fraction of a second each, not one of many seconds that the counter would only add when it ends.
sink_listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
sink_listener.bind(('127.0.0.1', 0))
sink_listener.listen()
end = time.monotonic() + seconds

if os.fork() == 0:
    prctl(15, b'loadgen', 0, 0, 0)  # PR_SET_NAME
    client = socket.create_connection(('127.0.0.1', port))
    answers = client.makefile('rb')
    while time.monotonic() < end:
        client.sendall(b'POST /events\n')
        if not answers.readline():
            break
    os._exit(0)

if os.fork() == 0:
    prctl(15, b'metrics-sink', 0, 0, 0)
    conn, _ = sink_listener.accept()
    while time.monotonic() < end and conn.recv(16384):
        time.sleep(0.1)  # aggregating
    os._exit(0)

prctl(15, b'events-api', 0, 0, 0)
sink = socket.socket()
sink.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
sink.connect(sink_listener.getsockname())
event = b'e' * 16384
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = 0.0
conn, _ = listener.accept()
with conn, conn.makefile('rb') as requests:
    for _ in requests:
        start = time.monotonic()
        sink.sendall(event)
        waited += time.monotonic() - start
        os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
        conn.sendall(b'202 Accepted\n')
