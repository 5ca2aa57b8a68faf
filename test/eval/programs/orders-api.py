#!/usr/bin/python3
# orders-api: answers request lines on 127.0.0.1:argv[1], a thread per caller;
# each answer needs one query to the database at argv[2]:argv[3] over a pool
# of 4 connections (a queue: a caller waits for a free one). Its thread
# "sync" checks all of them out every 0.7 s and keeps them 0.5 s while it
# waits for an export (a sleep here), idle on the wire: the callers wait. A load generator (a child, "loadgen") keeps 8 callers sending
# requests back to back for argv[4] seconds. Keeps in file argv[5] the time
# the callers waited for a free connection, summed over them, in ms.
import os, queue, socket, sys, threading, time
from served import name, start_loadgen

port, db_address, db_port, seconds, counter = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
listener = socket.create_server(('127.0.0.1', port), backlog=64)

start_loadgen(port, b'GET /orders\n', seconds, callers=8)

name('orders-api')
pool = queue.Queue()
for _ in range(4):
    db = socket.create_connection((db_address, db_port))
    pool.put((db, db.makefile('rb')))
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = [0.0]
lock = threading.Lock()


def checkout():
    asked = time.monotonic()
    connection = pool.get()
    with lock:
        waited[0] += time.monotonic() - asked
        os.pwrite(count_fd, b'%-14.1f\n' % (waited[0] * 1000), 0)
    return connection


def handle(conn):
    with conn, conn.makefile('rb') as requests:
        for _ in requests:
            db, rows = checkout()
            db.sendall(b'SELECT * FROM orders WHERE id = 42\n')
            rows.readline()
            pool.put((db, rows))
            conn.sendall(b'200 OK\n')


def sync():
    while True:
        held = [pool.get() for _ in range(4)]
        time.sleep(0.5)  # waiting for an export, every connection checked out
        for connection in held:
            pool.put(connection)
        time.sleep(0.2)


threading.Thread(target=sync, name='sync', daemon=True).start()
end = time.monotonic() + seconds
listener.settimeout(1)
while time.monotonic() < end:
    try:
        conn, _ = listener.accept()
    except socket.timeout:
        continue
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
