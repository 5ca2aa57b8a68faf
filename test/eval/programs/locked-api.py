#!/usr/bin/python3
# inventory-api: answers each request line on 127.0.0.1:argv[1] after
# updating its store under an exclusive flock on the file argv[2] (a moment's
# work); a report job (a child, "report-job") holds the same lock 0.8 s of
# every second while it exports the store. A load generator (a child,
# "loadgen") sends requests back to back for argv[4] seconds. Keeps in file
# argv[3] the time it has waited for the lock, in ms.
import fcntl, os, socket, sys, time
from served import name, serve, start_loadgen

port, lock_path, counter, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'POST /stock/42\n', seconds)

if os.fork() == 0:
    name('report-job')
    end = time.monotonic() + seconds
    with open(lock_path, 'a') as lock:
        while time.monotonic() < end:
            fcntl.flock(lock, fcntl.LOCK_EX)
            time.sleep(0.8)  # exporting
            fcntl.flock(lock, fcntl.LOCK_UN)
            time.sleep(0.2)
    os._exit(0)

name('inventory-api')
lock = open(lock_path, 'a')


def update(_):
    start = time.monotonic()
    fcntl.flock(lock, fcntl.LOCK_EX)
    waited = time.monotonic() - start
    fcntl.flock(lock, fcntl.LOCK_UN)
    return waited


serve(listener, counter, update)
