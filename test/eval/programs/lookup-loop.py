#!/usr/bin/python3
# checkout: looks up argv[1] with getaddrinfo (the system resolver: glibc,
# /etc/resolv.conf) every argv[2] seconds for argv[3] seconds, and keeps in
# file argv[4] "lookups waitedMs": how many lookups it made and how long
# they took in all.
import ctypes, os, socket, sys, time

ctypes.CDLL(None).prctl(15, b'checkout', 0, 0, 0)  # PR_SET_NAME
name, every, seconds, counter = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
lookups, waited = 0, 0.0
end = time.monotonic() + seconds
while time.monotonic() < end:
    start = time.monotonic()
    try:
        socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
    except socket.gaierror:
        pass
    waited += time.monotonic() - start
    lookups += 1
    with open(counter + '.tmp', 'w') as f:
        f.write(f'{lookups} {waited * 1000:.1f}\n')
    os.replace(counter + '.tmp', counter)
    time.sleep(every)
