#!/usr/bin/python3
# A catalog service that serves lookups from a data file argv[1] for argv[2]
# seconds: each lookup reads one 4 KiB record at random. Its working set is
# the whole file; run under a memory limit smaller than that, every page it
# brings in evicts another it will soon need again.
import os, random, sys, time

fd = os.open(sys.argv[1], os.O_RDONLY)
# Start cold: pages the file's writer left in the page cache are not charged to this cgroup.
os.fsync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
records = os.fstat(fd).st_size // 4096
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    os.pread(fd, 4096, random.randrange(records) * 4096)
