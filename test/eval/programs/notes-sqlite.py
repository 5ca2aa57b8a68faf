#!/usr/bin/python3
# notes-api writes a note to its SQLite database every 20 ms; nightly-vacuum
# (a child) holds the database's write lock 0.8 s of every second in one long
# transaction. SQLite takes the lock without waiting (fcntl F_SETLK) and its
# busy handler sleeps between tries, so notes-api's writes wait up to 0.8 s.
# argv: database path, counter file (ms notes-api waited so far), seconds.
import ctypes, os, signal, sqlite3, sys, time
from served import name

path, counter, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
sqlite3.connect(path).execute('create table if not exists notes(body)').connection.commit()

if os.fork() == 0:
    name('nightly-vacuum')
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: ends with notes-api
    db = sqlite3.connect(path, isolation_level=None)
    while True:
        db.execute('BEGIN EXCLUSIVE')
        db.execute("insert into notes values ('compacted')")
        time.sleep(0.8)
        db.execute('COMMIT')
        time.sleep(0.2)

name('notes-api')
db = sqlite3.connect(path, timeout=5, isolation_level=None)
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited, end = 0.0, time.monotonic() + seconds
while time.monotonic() < end:
    start = time.monotonic()
    db.execute("insert into notes values ('hello')")
    waited += time.monotonic() - start
    os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
    time.sleep(0.02)
