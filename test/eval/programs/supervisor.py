#!/usr/bin/python3
# A supervisor in the style of systemd's Restart=always, RestartSec=100ms:
# starts argv[3:] again 100 ms after each end, for argv[2] seconds; each
# child's pid goes to the file argv[1]. No process of its own but the child.
import subprocess
import sys
import time

pids, seconds, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
end = time.monotonic() + seconds
while time.monotonic() < end:
    child = subprocess.Popen(command)
    with open(pids, "a") as f:
        f.write(f"{child.pid}\n")
    child.wait()
    time.sleep(0.1)
