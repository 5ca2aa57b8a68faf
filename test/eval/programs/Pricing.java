// pricing-engine: hashes its price table again and again in one method
// (checksum), hot enough for the JIT to compile it, for argv[0] seconds. Run
// without a perf map: its hot code is the JIT's.
public class Pricing {
    static long checksum(long[] data) {
        long h = 0;
        for (int r = 0; r < 50; r++) for (long v : data) h = h * 31 + (v ^ (h >>> 7));
        return h;
    }

    public static void main(String[] a) throws Exception {
        long[] data = new long[100000];
        for (int i = 0; i < data.length; i++) data[i] = i * 2654435761L;
        long end = System.currentTimeMillis() + Long.parseLong(a[0]) * 1000, s = 0;
        while (System.currentTimeMillis() < end) s += checksum(data);
        System.out.println(s);
    }
}
