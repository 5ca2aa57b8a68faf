#!/usr/bin/python3
# quote-api closes a keep-alive connection idle for 1 s; storefront keeps a pool
# of them (one per worker thread) and sends a request every 0.6-1.4 s, so about
# half its requests go out on a connection quote-api has just closed: its FIN
# came first, the request is answered by a reset and fails, and storefront
# reconnects. argv: port, counter file (failed requests so far), seconds.
import ctypes, os, random, signal, socket, sys, threading, time
from served import name

port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
IDLE_TIMEOUT_S, WORKERS = 1.0, 10
listener = socket.create_server(('127.0.0.1', port), backlog=64)

if os.fork() == 0:
    name('quote-api')
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: ends with storefront

    def serve(conn):
        conn.settimeout(IDLE_TIMEOUT_S)
        with conn:
            try:
                while conn.recv(1000):
                    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
            except OSError:
                pass  # idle too long: closed

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()

name('storefront')
listener.close()
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
failed, lock, end = 0, threading.Lock(), time.monotonic() + seconds


def worker(seed):
    global failed
    rng, conn = random.Random(seed), None
    while time.monotonic() < end:
        try:
            conn = conn or socket.create_connection(('127.0.0.1', port))
            conn.sendall(b'GET /quote HTTP/1.1\r\nHost: quote-api\r\n\r\n')
            if not conn.recv(1000):
                raise ConnectionResetError('closed by the server')
        except OSError:
            with lock:
                failed += 1
                os.pwrite(count_fd, b'%-12d\n' % failed, 0)
            if conn:
                conn.close()
            conn = None
        time.sleep(rng.uniform(0.6, 1.4))


threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
for t in threads:
    t.start()
for t in threads:
    t.join()
