#!/usr/bin/python3
# search-api: a threaded Python service whose background thread rebuilds its
# index in pure Python, holding the GIL while it computes: every request thread,
# back from each of its 40 short I/O waits, waits for its turn at the GIL.
# Four load generators keep four request threads busy. Its counter file holds
# the ms its requests took beyond their own I/O waits: the GIL's share (of the 43
# times a request takes the GIL back, 40 are inside what it times: recv, send and
# the counter's write are not).
# argv: port, counter file, seconds.
import os, socket, sys, threading, time
from served import name, start_loadgen

port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
IO_WAITS, IO_WAIT_S = 40, 0.002
name('search-api')
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(8)
for _ in range(4):
    start_loadgen(port, b'GET /search?q=lamp\n', seconds)
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
lock = threading.Lock()
beyond = 0.0


def rebuild_index():
    while True:
        index = {}
        for i in range(1_000_000):
            index[i % 4096] = i * 31


def handle(conn):
    global beyond
    with conn, conn.makefile('rb') as requests:
        for _ in requests:
            start = time.monotonic()
            for _ in range(IO_WAITS):
                time.sleep(IO_WAIT_S)  # a database call: the GIL released, then taken back
            with lock:
                beyond += time.monotonic() - start - IO_WAITS * IO_WAIT_S
                os.pwrite(count_fd, b'%-14.1f\n' % (beyond * 1000), 0)
            conn.sendall(b'200 OK\n')


threading.Thread(target=rebuild_index, daemon=True).start()
end = time.monotonic() + seconds
while time.monotonic() < end:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
