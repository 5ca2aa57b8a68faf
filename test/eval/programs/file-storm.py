# A write storm on one file: writes 1 MiB chunks to argv[1] at argv[2] MiB/s
# for argv[3] seconds (rewinding every 64 MiB so the file stays small), and
# keeps the bytes written so far in argv[4].
import os, sys, time

path, rate, seconds, counter = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
chunk = b'x' * (1 << 20)
start = time.monotonic()
written = 0
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
while time.monotonic() - start < seconds:
    os.write(fd, chunk)
    written += len(chunk)
    if written % (64 << 20) == 0:
        os.lseek(fd, 0, os.SEEK_SET)
    with open(counter, 'w') as f:
        f.write(str(written))
    ahead = written / (rate * (1 << 20)) - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
os.close(fd)
