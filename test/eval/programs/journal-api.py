#!/usr/bin/python3
# ledger-api: answers each request line on 127.0.0.1:argv[1] after appending
# a 4 KiB record to its journal argv[2] and fsyncing it (a moment's work on an
# idle disk). A nightly export (a child, "bulk-export") writes argv[3] over
# and over in 1 MiB blocks with O_DIRECT (256 MiB, then from the start again),
# as fast as the disk takes them: the disk stays busy, and every fsync's
# writes queue behind the export's. A load generator (a child, "loadgen")
# sends requests back to back for argv[5] seconds. Keeps in file argv[4] the
# time its fsyncs have waited, in ms, and in argv[4].export the bytes the
# export has written.
import mmap, os, socket, sys, time
from served import name, serve, start_loadgen

port, journal_path, export_path, counter, seconds = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'POST /ledger/42\n', seconds)

if os.fork() == 0:
    name('bulk-export')
    fd = os.open(export_path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
    count_fd = os.open(counter + '.export', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    block = mmap.mmap(-1, 1 << 20)  # page-aligned, as O_DIRECT needs
    size, done = 256 << 20, 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        done += os.pwritev(fd, [block], done % size)
        os.pwrite(count_fd, b'%-16d\n' % done, 0)
    os._exit(0)

name('ledger-api')
journal = os.open(journal_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
record = b'\x00' * 4096


def append(_):
    start = time.monotonic()
    os.write(journal, record)
    os.fsync(journal)
    return time.monotonic() - start


serve(listener, counter, append)
