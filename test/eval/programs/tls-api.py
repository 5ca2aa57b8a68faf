#!/usr/bin/python3
# quote-api: a TLS server on 127.0.0.1:argv[1] (certificate argv[2], key
# argv[3]; no session tickets: every handshake is a full one) answering one
# request line per connection, a thread each. Its clients (2 children,
# "quote-client") open a new connection, and so a new handshake, for every
# request, for argv[5] seconds. Keeps in file argv[4] the CPU time its threads
# spent in handshakes, in ms.
import os, socket, ssl, sys, threading, time
from served import name

port, cert, key, counter, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
listener = socket.create_server(('127.0.0.1', port), backlog=64)

for _ in range(2):
    if os.fork() == 0:
        name('quote-client')
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with socket.create_connection(('127.0.0.1', port)) as c, client.wrap_socket(c) as s:
                s.sendall(b'GET /quote\n')
                s.recv(64)
        os._exit(0)

name('quote-api')
server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
server.load_cert_chain(cert, key)
server.options |= ssl.OP_NO_TICKET
lock = threading.Lock()
handshake_ms = 0.0
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)


def answer(conn):
    global handshake_ms
    try:
        with server.wrap_socket(conn, server_side=True, do_handshake_on_connect=False) as s:
            cpu = time.thread_time()
            s.do_handshake()
            spent = (time.thread_time() - cpu) * 1000
            with lock:
                handshake_ms += spent
                os.pwrite(count_fd, b'%-14.1f\n' % handshake_ms, 0)
            s.recv(64)
            s.sendall(b'200 OK\n')
    except OSError:
        pass


while True:
    conn, _ = listener.accept()
    threading.Thread(target=answer, args=(conn,), daemon=True).start()
