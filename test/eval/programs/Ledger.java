// ledger-api: an HTTP server on 127.0.0.1:args[0] whose 8 request threads each
// post to one ledger inside a synchronized method that works 60 ms: they take
// turns. Its clients (6 threads of its own) send requests back to back for
// args[2] seconds. Keeps in file args[1] the time request threads waited to
// enter the method, in ms. Run with -Dsun.net.httpserver.nodelay=true: the
// HttpServer writes an answer's headers and body apart, and with Nagle's
// algorithm on, the body would wait for the client's delayed ACK.
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

public class Ledger {
    static final AtomicLong waitedNs = new AtomicLong();
    static long balance;

    static void post(long amount) {
        long asked = System.nanoTime();
        synchronized (Ledger.class) {
            waitedNs.addAndGet(System.nanoTime() - asked);
            long end = System.nanoTime() + 60_000_000L;
            while (System.nanoTime() < end) balance += amount;
        }
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        long end = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000;
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", exchange -> {
            post(1);
            byte[] ok = "ok".getBytes();
            exchange.sendResponseHeaders(200, ok.length);
            exchange.getResponseBody().write(ok);
            exchange.close();
        });
        server.start();
        for (int i = 0; i < 6; i++) {
            new Thread(() -> {
                while (System.currentTimeMillis() < end) {
                    try {
                        HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
                        try (InputStream in = c.getInputStream()) {
                            in.readAllBytes();
                        }
                    } catch (Exception e) {
                        return;
                    }
                }
            }).start();
        }
        try (RandomAccessFile counter = new RandomAccessFile(args[1], "rw")) {
            while (System.currentTimeMillis() < end) {
                counter.seek(0);
                counter.writeBytes(String.format("%-14.1f%n", waitedNs.get() / 1e6));
                Thread.sleep(20);
            }
        }
        System.exit(0);
    }
}
