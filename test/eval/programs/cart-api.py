#!/usr/bin/python3
# cart-api: answers request lines on 127.0.0.1:argv[1], a thread per caller;
# each answer needs one query to the database at argv[2]:argv[3] over a pool
# of argv[4] connections (a queue: a caller waits for a free one). A load
# generator (a child, "loadgen") keeps argv[6] callers sending requests back
# to back for argv[5] seconds. Keeps in file argv[7] the time connections were
# checked out of the pool, summed over them, in ms.
import os, queue, socket, sys, threading, time
from served import name, start_loadgen

port, db_address, db_port, size, seconds, callers, counter = (
    int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
listener = socket.create_server(('127.0.0.1', port), backlog=64)

start_loadgen(port, b'GET /cart\n', seconds, callers=callers)

name('cart-api')
pool = queue.Queue()
for _ in range(size):
    db = socket.create_connection((db_address, db_port))
    pool.put((db, db.makefile('rb')))
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
held = [0.0]
lock = threading.Lock()


def handle(conn):
    with conn, conn.makefile('rb') as requests:
        for _ in requests:
            db, rows = pool.get()
            start = time.monotonic()
            db.sendall(b'SELECT * FROM carts WHERE id = 42\n')
            rows.readline()
            with lock:
                held[0] += time.monotonic() - start
                os.pwrite(count_fd, b'%-14.1f\n' % (held[0] * 1000), 0)
            pool.put((db, rows))
            conn.sendall(b'200 OK\n')


while True:
    conn, _ = listener.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
