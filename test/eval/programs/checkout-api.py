#!/usr/bin/python3
# checkout-api: answers each request line on 127.0.0.1:argv[1] after one query
# to the database at argv[2]:argv[3] (or on the unix socket argv[2], when it is
# a path) over one pooled connection; a load
# generator (a child, "loadgen") sends it requests back to back for argv[5]
# seconds. Keeps in file argv[4] the time it has waited for the database's
# answers, in ms.
import ctypes, os, socket, sys, threading, time

prctl = ctypes.CDLL(None).prctl
port, db_address, db_port, counter, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
listener = socket.create_server(('127.0.0.1', port))

if os.fork() == 0:
    prctl(15, b'loadgen', 0, 0, 0)  # PR_SET_NAME
    client = socket.create_connection(('127.0.0.1', port))
    answers = client.makefile('rb')
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        client.sendall(b'GET /cart\n')
        if not answers.readline():
            break
    os._exit(0)

prctl(15, b'checkout-api', 0, 0, 0)
if db_address.startswith('/'):
    db = socket.socket(socket.AF_UNIX)
    db.connect(db_address)
else:
    db = socket.create_connection((db_address, db_port))
rows = db.makefile('rb')
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = 0.0
conn, _ = listener.accept()
with conn, conn.makefile('rb') as requests:
    for _ in requests:
        start = time.monotonic()
        db.sendall(b'SELECT * FROM carts WHERE id = 42\n')
        rows.readline()
        waited += time.monotonic() - start
        os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
        conn.sendall(b'200 OK\n')
