# Reads the password hashes argv[1] times, 200 ms apart, then waits argv[2]
# seconds: what a credential stealer does once it runs as root.
import sys, time

for _ in range(int(sys.argv[1])):
    with open('/etc/shadow') as f:
        f.read()
    time.sleep(0.2)
time.sleep(float(sys.argv[2]))
