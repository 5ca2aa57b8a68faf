#!/usr/bin/python3
# report-job: reads the file argv[1] over and over with O_DIRECT (the page
# cache bypassed: every read is a disk read) in 64 KiB blocks, for argv[3]
# seconds, and keeps in file argv[2] the bytes it has read so far.
import ctypes, mmap, os, sys, time

ctypes.CDLL(None).prctl(15, b'report-job', 0, 0, 0)  # PR_SET_NAME
path, counter, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
BLOCK = 64 * 1024
buffer = mmap.mmap(-1, BLOCK)  # page-aligned, as O_DIRECT needs
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
done, offset, end = 0, 0, time.monotonic() + seconds
size = os.fstat(fd).st_size
while time.monotonic() < end:
    n = os.preadv(fd, [buffer], offset)
    done += n
    offset = offset + n if n and offset + n < size else 0
    os.pwrite(count_fd, b'%-16d\n' % done, 0)
