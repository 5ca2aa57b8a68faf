#!/usr/bin/python3
# report-api: answers each request line on argv[1]:argv[2] with a 64 KiB
# report, one thread per connection.
import socket, sys, threading
from served import name

REPORT = b'r' * 65535 + b'\n'
listener = socket.create_server((sys.argv[1], int(sys.argv[2])))
name('report-api')


def serve(conn):
    with conn, conn.makefile('rb') as requests:
        for _ in requests:
            conn.sendall(REPORT)


while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
