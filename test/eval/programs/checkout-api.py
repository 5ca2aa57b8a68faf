#!/usr/bin/python3
# checkout-api: answers each request line on 127.0.0.1:argv[1] after one query
# to the database at argv[2]:argv[3] (or on the unix socket argv[2], when it is
# a path) over one pooled connection; a load generator (a child, "loadgen")
# sends it requests back to back for argv[5] seconds. Keeps in file argv[4]
# the time it has waited for the database's answers, in ms. With argv[6]
# "split", each query is written in two pieces (its verb, then the rest), as a
# driver that writes a header and a body would, with TCP_NODELAY off.
import socket, sys, time
from served import name, serve, start_loadgen

port, db_address, db_port, counter, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
split = sys.argv[6:] == ['split']
listener = socket.create_server(('127.0.0.1', port))
start_loadgen(port, b'GET /cart\n', seconds)

name('checkout-api')
if db_address.startswith('/'):
    db = socket.socket(socket.AF_UNIX)
    db.connect(db_address)
else:
    db = socket.create_connection((db_address, db_port))
rows = db.makefile('rb')


QUERY = b'SELECT * FROM carts WHERE id = 42\n'


def query(_):
    start = time.monotonic()
    if split:
        db.sendall(QUERY[:7])
        db.sendall(QUERY[7:])
    else:
        db.sendall(QUERY)
    rows.readline()
    return time.monotonic() - start


serve(listener, counter, query)
