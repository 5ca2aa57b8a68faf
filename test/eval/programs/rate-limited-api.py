#!/usr/bin/python3
# pricing-api: answers the request line of each connection on 127.0.0.1:argv[1]
# in a thread of its own, once its rate limiter lets the request through:
# argv[3] requests a second, fewer than come (a token bucket that sleeps until
# the request's turn). A heartbeat thread sleeps 20 ms at a time beside them
# (a poller: no part of any answer). Its load generator (a child, "loadgen"):
# 4 threads, each opening a connection per request, for argv[4] seconds.
# Keeps in file argv[2] the time its request threads slept in the limiter, in ms.
import os, socket, sys, threading, time
from served import name

port, counter, rate, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
listener = socket.create_server(('127.0.0.1', port), backlog=64)

if os.fork() == 0:
    name('loadgen')

    def ask():
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with socket.create_connection(('127.0.0.1', port)) as c:
                c.sendall(b'GET /price\n')
                c.recv(64)

    clients = [threading.Thread(target=ask) for _ in range(4)]
    for t in clients:
        t.start()
    for t in clients:
        t.join()
    os._exit(0)

name('pricing-api')
lock = threading.Lock()
next_turn = time.monotonic()
slept_ms = 0.0
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def throttle():
    """Waits for this request's turn: one every 1/rate seconds."""
    global next_turn, slept_ms
    with lock:
        now = time.monotonic()
        turn = max(now, next_turn)
        next_turn = turn + 1 / rate
    time.sleep(turn - now)
    with lock:
        slept_ms += (turn - now) * 1000
        os.pwrite(count_fd, b'%-14.1f\n' % slept_ms, 0)


def answer(conn):
    with conn:
        conn.recv(64)
        throttle()
        conn.sendall(b'200 OK\n')


def heartbeat():
    while True:
        time.sleep(0.02)


threading.Thread(target=heartbeat, daemon=True).start()
while True:
    conn, _ = listener.accept()
    threading.Thread(target=answer, args=(conn,), daemon=True).start()
