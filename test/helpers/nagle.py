# A client and a server of a request/answer protocol over loopback, one of
# them writing each message in two pieces (a header, then a body) with
# TCP_NODELAY off: the second piece waits for the peer's delayed ACK of the
# first (Nagle's algorithm), ~40 ms an exchange on Linux.
# Usage: nagle.py ROUNDS request|answer|none. Prints the listening port, waits
# for a line on stdin, then prints each exchange's time in ms.
import socket
import sys
import threading
import time

rounds = int(sys.argv[1])
split = sys.argv[2]
REQUEST = 30
ANSWER = 20


def nodelay(sock, on):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if on else 0)


def send(sock, data, in_two):
    if in_two:
        sock.send(data[:10])
        sock.send(data[10:])
    else:
        sock.sendall(data)


def receive(sock, size):
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


listener = socket.socket()
listener.bind(('127.0.0.1', 0))
listener.listen(1)


def serve():
    conn, _ = listener.accept()
    nodelay(conn, split != 'answer')
    while receive(conn, REQUEST) is not None:
        send(conn, b'a' * ANSWER, split == 'answer')


threading.Thread(target=serve, daemon=True).start()
client = socket.create_connection(listener.getsockname())
nodelay(client, split != 'request')
print(listener.getsockname()[1], flush=True)
sys.stdin.readline()  # the caller is ready
times = []
for _ in range(rounds):
    start = time.perf_counter()
    send(client, b'r' * REQUEST, split == 'request')
    receive(client, ANSWER)
    times.append((time.perf_counter() - start) * 1000)
print(' '.join(f'{t:.1f}' for t in times), flush=True)
