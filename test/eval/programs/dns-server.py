#!/usr/bin/python3
# A small authoritative DNS server over UDP for tests: A queries get
# 198.18.0.10, AAAA get none, names under .invalid get NXDOMAIN and names
# starting with "fail." get SERVFAIL. argv: address, port (0: any); prints
# its port once it listens.
import socket, struct, sys

family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print(s.getsockname()[1], flush=True)
while True:
    query, client = s.recvfrom(512)
    if len(query) < 12:
        continue
    qid, flags = struct.unpack('!HH', query[:4])
    at, labels = 12, []
    while at < len(query) and query[at]:
        labels.append(query[at + 1:at + 1 + query[at]].decode('latin1'))
        at += 1 + query[at]
    question = query[12:at + 5]
    qtype = struct.unpack('!H', query[at + 1:at + 3])[0] if at + 3 <= len(query) else 0
    name = '.'.join(labels).lower()
    rcode = 3 if name.endswith('.invalid') else 2 if name.startswith('fail.') else 0
    answer = b''
    if rcode == 0 and qtype == 1:
        answer = b'\xc0\x0c' + struct.pack('!HHIH', 1, 1, 30, 4) + socket.inet_aton('198.18.0.10')
    header = struct.pack('!HHHHHH', qid, 0x8400 | (flags & 0x0100) | rcode, 1, 1 if answer else 0, 0, 0)
    s.sendto(header + question + answer, client)
