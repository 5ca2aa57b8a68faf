#!/usr/bin/python3
# php-fpm: a pool of pre-forked workers sharing one unix socket listener, each
# request taking a fixed time; too few workers for what comes, so its accept
# queue (the listen backlog) fills.
# argv: socket path, backlog, workers, milliseconds per request, seconds.
import ctypes, os, socket, sys, time

path, backlog, workers, per_request, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]) / 1000, float(sys.argv[5])
ctypes.CDLL(None).prctl(15, b'php-fpm', 0, 0, 0)  # PR_SET_NAME
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(path)
listener.listen(backlog)
end = time.monotonic() + seconds
for _ in range(workers):
    if os.fork() == 0:
        while time.monotonic() < end:
            conn, _ = listener.accept()
            try:
                conn.recv(4096)
                time.sleep(per_request)
                conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
            except OSError:
                pass
            conn.close()
        os._exit(0)
print('listening', flush=True)
while time.monotonic() < end:
    try:
        os.wait()
    except ChildProcessError:
        break
