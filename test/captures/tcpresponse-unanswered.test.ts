// Requests unanswered since before the window, from tcp_info as `ss -tinHOe`
// prints it: lines as this machine's ss printed them (a server on port 45951
// and four clients: a pooled connection with a request unanswered, a fresh one
// whose first request is unanswered, an idle one answered, a quiet one-way
// stream), each side classified; addresses as the kernel records print them.
// The capture itself reads them on the real kernel: tcpresponse.test.ts.
import { describe, expect, it } from 'vitest';
import { parseTcpInfo, waitedMs } from '../../src/captures/tcpresponse/unanswered.js';

const SS = `0      0      127.0.0.1:45951 127.0.0.1:38454 ino:17598 sk:3 cgroup:/ <-> ts sack bbr wscale:10,10 rto:200 bytes_received:6 segs_out:1 segs_in:3 data_segs_in:1 send 45990175439bps lastsnd:596 lastrcv:568 lastack:568 pacing_rate 131433084552bps
0      0      127.0.0.1:45951 127.0.0.1:38468 ino:17600 sk:4 cgroup:/ <-> ts sack bbr bytes_received:20 data_segs_in:5 lastsnd:596 lastrcv:528 lastack:528
0      0      127.0.0.1:38442 127.0.0.1:45951 ino:17593 sk:5 cgroup:/ <-> ts sack bbr bytes_sent:11 bytes_received:3 data_segs_out:2 data_segs_in:1 lastsnd:568 lastrcv:592 lastack:524
0      0      127.0.0.1:38454 127.0.0.1:45951 ino:17594 sk:6 cgroup:/ <-> bytes_sent:6 data_segs_out:1 lastsnd:568 lastrcv:596 lastack:568
0      0      127.0.0.1:38462 127.0.0.1:45951 ino:17595 sk:7 cgroup:/ <-> bytes_sent:5 bytes_received:3 data_segs_out:1 data_segs_in:1 lastsnd:592 lastrcv:592 lastack:592
0      0      127.0.0.1:38468 127.0.0.1:45951 ino:17596 sk:8 cgroup:/ <-> bytes_sent:20 data_segs_out:5 lastsnd:528 lastrcv:596 lastack:528
0      0      127.0.0.1:45951 127.0.0.1:38462 ino:17599 sk:9 cgroup:/ <-> bytes_sent:3 bytes_received:5 data_segs_out:1 data_segs_in:1 lastsnd:592 lastrcv:592 lastack:592
0      0      127.0.0.1:45951 127.0.0.1:38442 ino:17597 sk:a cgroup:/ <-> bytes_sent:3 bytes_received:11 data_segs_out:1 data_segs_in:2 lastsnd:592 lastrcv:568 lastack:568
`;

describe('requests unanswered since before the window (tcp_info)', () => {
  const connections = parseTcpInfo(SS);
  const role = (local: string) => (local.endsWith(':45951') ? 'server' : 'client');
  const waiting = new Map(connections.map((c) => [`${c.local} ${c.remote}`, waitedMs(c, role(c.local))]));

  it('reads each connection: its ends, inode, byte and segment counts, and the times since it last sent and received', () => {
    expect(connections).toHaveLength(8);
    expect(connections[2]).toEqual({
      local: '127.0.0.1:38442',
      remote: '127.0.0.1:45951',
      inode: '17593',
      sendQueue: 0,
      lastSendMs: 568,
      lastRecvMs: 592,
      bytesSent: 11,
      bytesReceived: 3,
      dataSegsOut: 2,
      dataSegsIn: 1,
    });
    // Counters ss leaves out when zero read as 0.
    expect(connections[1]).toMatchObject({ bytesSent: 0, dataSegsOut: 0, bytesReceived: 20 });
  });

  it('a request sent after the last answer waits since it went out, on both sides', () => {
    expect(waiting.get('127.0.0.1:38442 127.0.0.1:45951')).toBe(568); // the pooled client
    expect(waiting.get('127.0.0.1:45951 127.0.0.1:38442')).toBe(568); // its server, since the request came in
  });

  it('a first request never answered waits; a one-way stream, an answered connection and a same-millisecond exchange do not', () => {
    expect(waiting.get('127.0.0.1:38454 127.0.0.1:45951')).toBe(568);
    expect(waiting.get('127.0.0.1:45951 127.0.0.1:38454')).toBe(568);
    // Five segments and nothing back: a stream, on both sides.
    expect(waiting.get('127.0.0.1:38468 127.0.0.1:45951')).toBeUndefined();
    expect(waiting.get('127.0.0.1:45951 127.0.0.1:38468')).toBeUndefined();
    // Asked and answered in the same millisecond: which came last is unknown, so nothing is said.
    expect(waiting.get('127.0.0.1:38462 127.0.0.1:45951')).toBeUndefined();
    expect(waiting.get('127.0.0.1:45951 127.0.0.1:38462')).toBeUndefined();
    // An answer after the last request: a client waits for nothing.
    expect(waitedMs({ ...connections[4]!, lastRecvMs: 100 }, 'client')).toBeUndefined();
  });

  it('addresses as the kernel records print them: IPv4-mapped as IPv4, no interface scope', () => {
    const [c] = parseTcpInfo('0 12 [::ffff:10.0.0.1]:40000 [fe80::1]%eth0:5432 ino:9 <-> bytes_sent:12 data_segs_out:1 lastsnd:9000 lastrcv:9100');
    expect(c).toMatchObject({ local: '10.0.0.1:40000', remote: '[fe80::1]:5432', sendQueue: 12 });
    expect(parseTcpInfo('Recv-Q Send-Q Local Address:Port Peer Address:Port\n\n')).toEqual([]);
  });
});
