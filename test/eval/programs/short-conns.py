#!/usr/bin/python3
# cart-client: four threads each open a short TCP connection to
# argv[1]:argv[2] again and again (connect, close), each waiting at most 2 s,
# for argv[4] seconds; keeps in file argv[3] how many connects took a second
# or more or failed.
import ctypes, os, socket, sys, threading, time

ctypes.CDLL(None).prctl(15, b'cart-client', 0, 0, 0)  # PR_SET_NAME
address, port, counter, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
slow, lock, end = 0, threading.Lock(), time.monotonic() + seconds


def connect_loop():
    global slow
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            socket.create_connection((address, port), timeout=2).close()
        except OSError:
            pass
        if time.monotonic() - start >= 1:
            with lock:
                slow += 1
                os.pwrite(count_fd, b'%-12d\n' % slow, 0)
        time.sleep(0.01)


threads = [threading.Thread(target=connect_loop) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
