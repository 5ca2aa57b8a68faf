#!/usr/bin/python3
# nightly-backup: uploads to argv[1]:argv[2] as fast as TCP lets it for
# argv[3] seconds. CUBIC, Linux's default congestion control, fills a
# bottleneck's queue before it backs off (BBR, where a host sets it, keeps
# that queue short).
import socket, sys, time
from served import name

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
name('nightly-backup')
upload = socket.socket()
upload.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b'cubic')
upload.connect((host, port))
chunk = b'\0' * 65536
end = time.monotonic() + seconds
while time.monotonic() < end:
    upload.sendall(chunk)
