#!/usr/bin/python3
# session-writer: a web app keeping each session in its own small file under
# argv[1], argv[2] new sessions a second for argv[3] seconds, never expired
# (a filesystem running out of inodes with bytes to spare).
import os, sys, time
from served import name

name('session-writer')
directory, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
start = time.monotonic()
n = 0
while time.monotonic() - start < seconds:
    with open(os.path.join(directory, f'sess_{n:08x}'), 'wb') as f:
        f.write(b'user_id|i:4242;cart|a:0:{}' + b' ' * 200)
    n += 1
    ahead = n / rate - (time.monotonic() - start)
    if ahead > 0:
        time.sleep(ahead)
