#!/usr/bin/python3
# debug-logger: a service left at debug level, appending argv[2] MiB/s of log
# lines to argv[1] for argv[3] seconds (a disk filling with one log). With
# argv[4] "deleted", the log is removed once open (a rotation that deleted it
# while the service kept writing): df sees the disk fill, du does not.
import os, sys, time
from served import name

name('debug-logger')
path, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
line = b'DEBUG cache lookup key=user:4242 hit=false took_us=118 ' + b'.' * 960 + b'\n'
chunk = line * 256  # 256 KiB a write
start = time.monotonic()
written = 0
with open(path, 'ab') as log:
    if sys.argv[4:] == ['deleted']:
        os.unlink(path)
    while time.monotonic() - start < seconds:
        log.write(chunk)
        log.flush()
        written += len(chunk)
        ahead = written / (rate * (1 << 20)) - (time.monotonic() - start)
        if ahead > 0:
            time.sleep(ahead)
