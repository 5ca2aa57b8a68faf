#!/usr/bin/python3
# A pricing service: every 20 ms a request that takes 5 ms of CPU (argv[3]
# seconds in all). The time it was runnable but not running (wall time of a
# request and its 20 ms sleep, minus its CPU and the sleep asked for) is kept,
# in ms, in the counter file argv[1]; argv[2] "pin:N" pins it to CPU N first.
import os, sys, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from served import name

name('pricing-api')
counter, how, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
if how.startswith('pin:'):
    os.sched_setaffinity(0, {int(how[4:])})
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited = 0.0
end = time.monotonic() + seconds
while time.monotonic() < end:
    start, cpu = time.monotonic(), time.thread_time()
    time.sleep(0.02)
    while time.thread_time() - cpu < 0.005:
        pass
    waited += max(0.0, time.monotonic() - start - 0.02 - (time.thread_time() - cpu))
    os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
