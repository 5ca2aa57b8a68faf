#!/usr/bin/python3
# orders-api: answers each request line on 127.0.0.1:argv[1] and logs a line
# per request to its stdout, a pipe read by a log shipper (a child,
# "log-shipper") that ships 4 KiB at a time and then waits 0.2 s on its
# upstream: the pipe fills, and every log write waits for the shipper. A load
# generator (a child, "loadgen") sends requests back to back for argv[3]
# seconds. Keeps in file argv[2] the time its log writes have waited, in ms.
import os, socket, sys, time
from served import name, serve, start_loadgen

port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'GET /orders/42\n', seconds)

r, w = os.pipe()
if os.fork() == 0:
    name('log-shipper')
    os.close(w)
    end = time.monotonic() + seconds
    while time.monotonic() < end and os.read(r, 4096):
        time.sleep(0.2)  # its upstream is slow
    os._exit(0)

name('orders-api')
os.close(r)
os.dup2(w, 1)


def log(n):
    line = b'%.3f INFO GET /orders/42 200 user=4711 items=3 total=59.90 took=1ms request=%08d\n' % (time.time(), n)
    start = time.monotonic()
    os.write(1, line)
    return time.monotonic() - start


serve(listener, counter, log)
