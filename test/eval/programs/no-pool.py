#!/usr/bin/python3
# billing-client: opens a new TCP connection for every request and closes it
# first (no keep-alive, no pool), so each leaves its local port in TIME_WAIT for
# 60 s. Once the namespace's local ports are all held, connect() fails with
# EADDRNOTAVAIL; it retries every 10 ms. argv: address, port, counter file
# (failed connects so far), seconds.
import ctypes, errno, os, socket, sys, time

ctypes.CDLL(None).prctl(15, b'billing-client', 0, 0, 0)  # PR_SET_NAME
address, port, counter, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
failures, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    s = socket.socket()
    try:
        s.connect((address, port))
    except OSError as e:
        if e.errno != errno.EADDRNOTAVAIL:
            raise
        failures += 1
        os.pwrite(count_fd, b'%-12d\n' % failures, 0)
        time.sleep(0.01)
    finally:
        s.close()
