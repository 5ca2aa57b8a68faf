#!/usr/bin/python3
# A quoting service whose CPU quota is less than its requests need: a thread
# per connection, each request ~4 ms of Python code (the GIL held), and a load
# generator (a child, "loadgen") with six connections, each sending a request
# 20 ms after its last answer, for argv[1] seconds. The service moves itself
# into the cgroup whose cgroup.procs is argv[2] (the load generator stays
# out): a throttled period stops the thread holding the GIL, and every other
# one waits for it.
import hashlib, os, socket, sys, threading, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from served import name, start_loadgen

seconds = float(sys.argv[1])
listener = socket.create_server(('127.0.0.1', 0))
port = listener.getsockname()[1]
start_loadgen(port, b'GET /quote\n', seconds, callers=6, pause=0.02)
name('quota-api')
with open(sys.argv[2], 'w') as procs:
    procs.write(str(os.getpid()))


def quote():
    digest = b'quote'
    for _ in range(6000):
        digest = hashlib.sha256(digest).digest()  # short inputs: hashed under the GIL


def handle(conn):
    with conn, conn.makefile('rb') as requests:
        for _ in requests:
            quote()
            conn.sendall(b'200 OK\n')


def serve():
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


threading.Thread(target=serve, daemon=True).start()
time.sleep(seconds)
