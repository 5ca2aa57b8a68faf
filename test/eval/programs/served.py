# What the eval's request-serving programs share: naming a process, a load
# generator (a child, "loadgen") sending request lines back to back, and the
# loop that answers each one and keeps the time it waited in a counter file.
import ctypes, os, socket, threading, time

_prctl = ctypes.CDLL(None).prctl


def name(comm):
    _prctl(15, comm.encode(), 0, 0, 0)  # PR_SET_NAME


def start_loadgen(port, request, seconds, callers=1, pause=0.0):
    """Forks the load generator: `callers` threads, each on a connection of its own sending request (a line) to
    127.0.0.1:port `pause` seconds after its last answer, for seconds."""
    if os.fork() == 0:
        name('loadgen')
        end = time.monotonic() + seconds

        def call():
            client = socket.create_connection(('127.0.0.1', port))
            answers = client.makefile('rb')
            while time.monotonic() < end:
                client.sendall(request)
                if not answers.readline():
                    break
                time.sleep(pause)

        threads = [threading.Thread(target=call) for _ in range(callers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        os._exit(0)


def serve(listener, counter, handle, answer=b'200 OK\n'):
    """Answers each request line after handle(n), which returns the seconds it waited; keeps their sum, in ms, in counter."""
    count_fd = os.open(counter, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    waited = 0.0
    conn, _ = listener.accept()
    with conn, conn.makefile('rb') as requests:
        for n, _ in enumerate(requests):
            waited += handle(n)
            os.pwrite(count_fd, b'%-14.1f\n' % (waited * 1000), 0)
            conn.sendall(answer)
