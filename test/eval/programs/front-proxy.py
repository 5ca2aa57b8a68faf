#!/usr/bin/python3
# nginx: a front proxy passing requests to a local application server by its
# unix socket, with non-blocking connects as nginx makes them: a connect
# refused with EAGAIN (the server's accept queue full) is a 502 for the client.
# argv: socket path, requests per second, counter file (502s so far), seconds.
import ctypes, os, socket, sys, threading, time

path, rate, counter, seconds = sys.argv[1], float(sys.argv[2]), sys.argv[3], float(sys.argv[4])
ctypes.CDLL(None).prctl(15, b'nginx', 0, 0, 0)  # PR_SET_NAME
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
lock = threading.Lock()
bad_gateway = 0
THREADS = 32  # requests in flight at most: more than the pool and its queue hold
end = time.monotonic() + seconds


def proxy():
    global bad_gateway
    interval = THREADS / rate
    next_at = time.monotonic()
    while time.monotonic() < end:
        next_at += interval
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.setblocking(False)
        try:
            upstream.connect(path)
            upstream.setblocking(True)
            upstream.settimeout(5)
            upstream.sendall(b'GET /cart HTTP/1.1\r\nHost: shop\r\n\r\n')
            upstream.recv(4096)
        except BlockingIOError:
            with lock:
                bad_gateway += 1
                os.pwrite(count_fd, b'%-12d\n' % bad_gateway, 0)
        except OSError:
            pass
        upstream.close()
        time.sleep(max(0.0, next_at - time.monotonic()))


threads = [threading.Thread(target=proxy) for _ in range(THREADS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
