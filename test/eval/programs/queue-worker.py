#!/usr/bin/python3
# mailer-worker: waits for jobs on a Redis list at 127.0.0.1:argv[1] with
# BRPOP and a 1 s timeout, again and again for argv[2] seconds (the queue
# stays empty: every call is answered at its timeout, by design).
import ctypes, socket, sys, time

ctypes.CDLL(None).prctl(15, b'mailer-worker', 0, 0, 0)  # PR_SET_NAME
port, seconds = int(sys.argv[1]), float(sys.argv[2])
redis = socket.create_connection(('127.0.0.1', port))
replies = redis.makefile('rb')
end = time.monotonic() + seconds
while time.monotonic() < end:
    redis.sendall(b'*3\r\n$5\r\nBRPOP\r\n$4\r\njobs\r\n$1\r\n1\r\n')
    replies.readline()  # *-1: nothing came within the timeout
