#!/usr/bin/python3
# events-api: answers each request line on 127.0.0.1:argv[1] after sending
# the event it makes (16 KiB) over one TCP connection to a metrics sink (a
# child, "metrics-sink") that reads 16 KiB and then works 0.1 s on it: the
# connection's buffers fill, and every send waits for the sink. A load
# generator (a child, "loadgen") sends requests back to back for argv[3]
# seconds. Keeps in file argv[2] the time its sends have waited, in ms.
import os, socket, sys, time
from served import name, serve, start_loadgen

port, counter, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'POST /events\n', seconds)

# Small buffers, as a sink and a client that set them (or a busy host's memory) would have: waits of
# a fraction of a second each, not one of many seconds that the counter would only add when it ends.
sink_listener = socket.socket()
sink_listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
sink_listener.bind(('127.0.0.1', 0))
sink_listener.listen()
if os.fork() == 0:
    name('metrics-sink')
    conn, _ = sink_listener.accept()
    end = time.monotonic() + seconds
    while time.monotonic() < end and conn.recv(16384):
        time.sleep(0.1)  # aggregating
    os._exit(0)

name('events-api')
sink = socket.socket()
sink.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
sink.connect(sink_listener.getsockname())
event = b'e' * 16384


def send(_):
    start = time.monotonic()
    sink.sendall(event)
    return time.monotonic() - start


serve(listener, counter, send, b'202 Accepted\n')
