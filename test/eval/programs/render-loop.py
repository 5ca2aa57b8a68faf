#!/usr/bin/python3
# A page renderer that answers from one thread, an event loop, each request
# ~15 ms of CPU (render), and 24 clients (a load generator, a child,
# "loadgen") sending a request 50 ms after their last answer: more than one
# CPU's worth asked of a thread that can give one, so requests queue for it.
# Listens on argv[1]; argv[2] seconds in all.
import hashlib, os, selectors, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from served import name, start_loadgen

port, seconds = int(sys.argv[1]), float(sys.argv[2])
end = time.monotonic() + seconds
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'GET /render\n', seconds, callers=24, pause=0.05)
name('render-loop')


def render():
    page = b'page'
    for _ in range(45000):
        page = hashlib.sha256(page).digest()


loop = selectors.DefaultSelector()
loop.register(listener, selectors.EVENT_READ)
while time.monotonic() < end:
    for key, _ in loop.select(timeout=1):
        if key.fileobj is listener:
            conn, _ = listener.accept()
            loop.register(conn, selectors.EVENT_READ)
        elif key.fileobj.recv(64):
            render()
            key.fileobj.sendall(b'200 OK\n')
        else:
            loop.unregister(key.fileobj)
            key.fileobj.close()
