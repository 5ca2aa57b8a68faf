#!/usr/bin/python3
# render-worker: forks a helper per job every 20 ms for argv[2] seconds; its
# helpers hang and are never reaped (a leak), so under a pids limit fork()
# soon fails with EAGAIN. argv: counter file (fork failures so far), seconds.
import ctypes, os, sys, time

ctypes.CDLL(None).prctl(15, b'render-worker', 0, 0, 0)  # PR_SET_NAME
counter, seconds = sys.argv[1], float(sys.argv[2])
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
failures, end = 0, time.monotonic() + seconds
while time.monotonic() < end:
    try:
        pid = os.fork()
    except BlockingIOError:
        failures += 1
        os.pwrite(count_fd, b'%-12d\n' % failures, 0)
    else:
        if pid == 0:
            time.sleep(3600)  # the leaked helper: stuck
            os._exit(0)
    time.sleep(0.02)
