#!/usr/bin/python3
# orders-db: a line protocol on argv[1]:argv[2] (or on the unix socket argv[1]
# when it is a path, argv[2] unused); each query line gets one answer line,
# and every argv[4]-th query on a connection waits argv[3] ms first (a lock
# wait, a slow plan), the rest at once. It waits on a lock, as a database
# would: a timed sleep inside an answer is a cause of its own (offcputime's
# sleeps), and this database stands for one whose slowness is out of sight.
import ctypes, os, socket, sys, threading, time

ctypes.CDLL(None).prctl(15, b'orders-db', 0, 0, 0)  # PR_SET_NAME
address, port, slow_ms, every = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
if address.startswith('/'):
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(address)
    listener.listen(16)
else:
    listener = socket.create_server((address, port), reuse_port=False)


never_released = threading.Lock()
never_released.acquire()


def serve(conn):
    with conn, conn.makefile('rb') as lines:
        for n, _ in enumerate(lines, 1):
            if n % every == 0:
                never_released.acquire(timeout=slow_ms / 1000)
            conn.sendall(b'row\n')


while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
