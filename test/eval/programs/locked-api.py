#!/usr/bin/python3
# inventory-api: answers each request line on 127.0.0.1:argv[1] after
# updating its store under an exclusive flock on the file argv[2] (a moment's
# work); a report job (a child, "report-job") holds the same lock 0.8 s of
# every second while it exports the store. A load generator (a child,
# "loadgen") sends requests back to back for argv[4] seconds. Keeps in file
# argv[3] the time it has waited for the lock, in ms.
import ctypes, fcntl, os, socket, sys, time

prctl = ctypes.CDLL(None).prctl
port, lock_path, counter, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
listener = socket.create_server(('127.0.0.1', port))
end = time.monotonic() + seconds

if os.fork() == 0:
    prctl(15, b'loadgen', 0, 0, 0)  # PR_SET_NAME
    client = socket.create_connection(('127.0.0.1', port))
    answers = client.makefile('rb')
    while time.monotonic() < end:
        client.sendall(b'POST /stock/42\n')
        if not answers.readline():
            break
    os._exit(0)

if os.fork() == 0:
    prctl(15, b'report-job', 0, 0, 0)
    with open(lock_path, 'a') as lock:
        while time.monotonic() < end:
            fcntl.flock(lock, fcntl.LOCK_EX)
            time.sleep(0.8)  # exporting
            fcntl.flock(lock, fcntl.LOCK_UN)
            time.sleep(0.2)
    os._exit(0)

prctl(15, b'inventory-api', 0, 0, 0)
lock = open(lock_path, 'a')
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = 0.0
conn, _ = listener.accept()
with conn, conn.makefile('rb') as requests:
    for _ in requests:
        start = time.monotonic()
        fcntl.flock(lock, fcntl.LOCK_EX)
        waited += time.monotonic() - start
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
        conn.sendall(b'200 OK\n')
