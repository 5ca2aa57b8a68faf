# ledger-api: each request debits one account in PostgreSQL (an UPDATE of its
# row, through libpq). The counter keeps the ms its requests spent in their
# UPDATEs. Beside it, by MODE:
#   settle (default): a settlement job (a child, "settle-job") updates the same
#     row in a transaction it keeps open while it calls another service, 0.8 s
#     of every second: every debit waits for the job's transaction to end.
#   migrate: a report (a child, "report-job") reads the table in a transaction
#     it keeps open (streaming to a slow reader), and a migration ("migrate")
#     runs ALTER TABLE on it: the ALTER waits for the report, every debit
#     queues behind the ALTER.
#   plain: nothing beside it (the test does something to the database).
# Usage: ledger-api.py PORT DBPORT COUNTER SECONDS [MODE]
import ctypes, os, socket, sys, threading, time
from served import name, start_loadgen

port, db_port, counter, seconds = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
mode = sys.argv[5] if len(sys.argv) > 5 else 'settle'
libpq = ctypes.CDLL('libpq.so.5')
libpq.PQconnectdb.restype = ctypes.c_void_p
libpq.PQexec.restype = ctypes.c_void_p
libpq.PQexec.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
libpq.PQclear.argtypes = [ctypes.c_void_p]
libpq.PQstatus.argtypes = [ctypes.c_void_p]
libpq.PQresultStatus.argtypes = [ctypes.c_void_p]
libpq.PQerrorMessage.argtypes = [ctypes.c_void_p]
libpq.PQerrorMessage.restype = ctypes.c_char_p
PGRES_COMMAND_OK, PGRES_TUPLES_OK = 1, 2


def connect():
    conn = libpq.PQconnectdb(f'host=127.0.0.1 port={db_port} user=postgres dbname=postgres'.encode())
    if libpq.PQstatus(conn) != 0:
        sys.exit(f'ledger-api: {libpq.PQerrorMessage(conn).decode()}')
    return conn


def run(conn, sql):
    result = libpq.PQexec(conn, sql)
    status = libpq.PQresultStatus(result)
    libpq.PQclear(result)
    if status not in (PGRES_COMMAND_OK, PGRES_TUPLES_OK):
        sys.exit(f'ledger-api: {sql.decode()}: {libpq.PQerrorMessage(conn).decode()}')


name('ledger-api')
setup = connect()
run(setup, b'CREATE TABLE IF NOT EXISTS accounts (id int PRIMARY KEY, balance bigint NOT NULL)')
run(setup, b'INSERT INTO accounts SELECT g, 0 FROM generate_series(1, 100) g ON CONFLICT DO NOTHING')
libpq.PQfinish(ctypes.c_void_p(setup))

if mode == 'settle' and os.fork() == 0:
    name('settle-job')
    job, end = connect(), time.monotonic() + seconds
    while time.monotonic() < end:
        run(job, b'BEGIN')
        run(job, b'UPDATE accounts SET balance = balance + 100 WHERE id = 1')
        time.sleep(0.8)  # the payment provider's answer, inside the transaction
        run(job, b'COMMIT')
        time.sleep(0.2)
    os._exit(0)
if mode == 'migrate' and os.fork() == 0:
    name('report-job')
    report = connect()
    run(report, b'BEGIN')
    run(report, b'SELECT sum(balance) FROM accounts')
    time.sleep(seconds)  # its reader is slow: the transaction stays open
    os._exit(0)
if mode == 'migrate' and os.fork() == 0:
    name('migrate')
    time.sleep(1)  # after the report began, and the debits
    run(connect(), b'ALTER TABLE accounts ADD COLUMN IF NOT EXISTS memo text')
    os._exit(0)

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', port))
listener.listen(16)
start_loadgen(port, b'debit 1\n', seconds, callers=3, pause=0.05)
count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
waited, lock = [0.0], threading.Lock()


def answer(client):
    db = connect()
    with client, client.makefile('rb') as requests:
        for _ in requests:
            began = time.monotonic()
            run(db, b'UPDATE accounts SET balance = balance - 1 WHERE id = 1')
            with lock:
                waited[0] += time.monotonic() - began
                os.pwrite(count_fd, b'%-14.1f\n' % (waited[0] * 1000), 0)
            client.sendall(b'200 OK\n')


end = time.monotonic() + seconds
listener.settimeout(0.5)
while time.monotonic() < end:
    try:
        client, _ = listener.accept()
    except socket.timeout:
        continue
    threading.Thread(target=answer, args=(client,), daemon=True).start()
