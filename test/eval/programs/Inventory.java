// inventory-api: an HTTP server on 127.0.0.1:args[0] whose cache of 2,000
// entries (32 KiB each) fills most of its heap (run it with -Xmx80m), and
// each request replaces 20 entries: the collector runs again and again to
// find room, and the request threads wait for it. Its clients (4 threads of
// its own) send requests for args[2] seconds. Keeps in file args[1] the CPU
// time its collector used (the JVM's GC and VM threads, read from
// /proc/self/task), in ms.
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.net.HttpURLConnection;
import java.net.InetSocketAddress;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

public class Inventory {
    static final int ENTRIES = 2000;
    static final ConcurrentHashMap<Integer, byte[][]> cache = new ConcurrentHashMap<>();

    static byte[][] entry() {
        byte[][] e = new byte[32][];
        for (int i = 0; i < e.length; i++) e[i] = new byte[1024];
        return e;
    }

    /** CPU ms of the threads that collect: G1's workers and its concurrent threads, and the VM thread that runs each pause. */
    static long collectorCpuMs() {
        long ticks = 0;
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String comm = Files.readString(task.resolve("comm")).trim();
                    if (!comm.matches("GC Thread#\\d+|G1 .*|VM Thread")) continue;
                    String stat = Files.readString(task.resolve("stat"));
                    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
                } catch (Exception gone) {
                    // a thread that ended
                }
            }
        } catch (Exception e) {
            return 0;
        }
        return ticks * 10; // USER_HZ is 100
    }

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        long end = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000;
        for (int i = 0; i < ENTRIES; i++) cache.put(i, entry());
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", exchange -> {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            for (int i = 0; i < 20; i++) cache.put(random.nextInt(ENTRIES), entry());
            byte[] ok = "ok".getBytes();
            exchange.sendResponseHeaders(200, ok.length);
            exchange.getResponseBody().write(ok);
            exchange.close();
        });
        server.start();
        for (int i = 0; i < 4; i++) {
            new Thread(() -> {
                while (System.currentTimeMillis() < end) {
                    try {
                        HttpURLConnection c = (HttpURLConnection) new URL("http://127.0.0.1:" + port + "/").openConnection();
                        try (InputStream in = c.getInputStream()) {
                            in.readAllBytes();
                        }
                        Thread.sleep(5);
                    } catch (Exception e) {
                        return;
                    }
                }
            }).start();
        }
        try (RandomAccessFile counter = new RandomAccessFile(args[1], "rw")) {
            while (System.currentTimeMillis() < end) {
                counter.seek(0);
                counter.writeBytes(String.format("%-14d%n", collectorCpuMs()));
                Thread.sleep(20);
            }
        }
        System.exit(0);
    }
}
