#!/usr/bin/python3
# log-shipper: holds the log it tails, argv[1], after logrotate deleted it: it
# wrote the disk full (argv[2] MiB at most), the file was removed, and the
# shipper never reopened it. df says full, du finds nothing; the space comes
# back only when it closes the file. Touches argv[3] once it holds it.
import os, sys, time
from served import name

name('log-shipper')
path, most_mib, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
block = b'INFO request served in 12 ms ' + b'.' * 995 + b'\n'
chunk = block * 1024  # 1 MiB
with open(path, 'ab', buffering=0) as log:
    try:
        for _ in range(most_mib):
            log.write(chunk)
    except OSError:
        pass  # the disk is full
    os.unlink(path)
    open(ready, 'w').close()
    time.sleep(120)
