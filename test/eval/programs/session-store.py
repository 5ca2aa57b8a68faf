#!/usr/bin/python3
# A session store in the manner of Redis: one thread answers every client
# from an event loop, its data in memory (argv[2] GiB, every page present),
# and twice a second it forks a child that would write a snapshot (BGSAVE).
# Each fork copies the page tables of all that memory, and nothing is
# answered meanwhile. A load generator (a child, "loadgen", forked while the
# store is small) sends a request every 5 ms on each of two connections.
# The time spent in fork() is kept, in ms, in the counter file argv[1] (made
# once the store is full); argv[3] seconds in all.
import mmap, os, selectors, signal, socket, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from served import name

counter, gib, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
listener = socket.create_server(('127.0.0.1', 0))
port = listener.getsockname()[1]

if os.fork() == 0:
    name('loadgen')
    clients = [socket.create_connection(('127.0.0.1', port)) for _ in range(2)]
    while time.monotonic() < end:
        for c in clients:
            c.sendall(b'GET session:42\n')
            c.recv(64)
        time.sleep(0.005)
    os._exit(0)

name('session-store')
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # snapshot children reap themselves
# Every page present (MAP_POPULATE): resident, in its page tables.
data = mmap.mmap(-1, int(gib * (1 << 30)), flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | mmap.MAP_POPULATE)

count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
forked = 0.0
loop = selectors.DefaultSelector()
loop.register(listener, selectors.EVENT_READ)
next_snapshot = time.monotonic() + 0.5
while time.monotonic() < end:
    for key, _ in loop.select(timeout=max(0, next_snapshot - time.monotonic())):
        if key.fileobj is listener:
            conn, _ = listener.accept()
            loop.register(conn, selectors.EVENT_READ)
        elif key.fileobj.recv(64):
            key.fileobj.sendall(b'+OK\n')
        else:
            loop.unregister(key.fileobj)
            key.fileobj.close()
    if time.monotonic() >= next_snapshot:
        start = time.monotonic()
        if os.fork() == 0:
            time.sleep(0.2)  # the snapshot's writing, sharing the parent's pages
            os._exit(0)
        forked += time.monotonic() - start
        os.pwrite(count_fd, b'%-14.1f\n' % (forked * 1000), 0)
        next_snapshot += 0.5
