#!/usr/bin/python3
# session-cache: keeps every session it creates and never evicts one (a leak):
# argv[1] MiB every 100 ms, for argv[2] seconds.
import sys, time
from served import name

name('session-cache')
per_step, end = int(sys.argv[1]) * 1024 * 1024, time.time() + float(sys.argv[2])
sessions = []
while time.time() < end:
    sessions.append(bytearray(per_step))
    time.sleep(0.1)
