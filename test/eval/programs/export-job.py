#!/usr/bin/python3
# export-job: writes an 8 MiB export file into directory argv[1] at argv[2]
# MiB/s for argv[3] seconds and never removes them (a job spooling into a
# tmpfs: the files hold memory until someone deletes them).
import os, sys, time
from served import name

name('export-job')
directory, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
chunk = b'x' * (8 << 20)
start = time.monotonic()
n = 0
while time.monotonic() - start < seconds:
    with open(os.path.join(directory, f'export-{n}.csv'), 'wb') as f:
        f.write(chunk)
    n += 1
    ahead = n * 8 / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
