// The test-network helper itself: reachable, fault rules take effect, and it
// leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { kernelSkipReason } from './kernel.js';
import { createRoutedNetwork, createTestNetwork } from './netns.js';

const skip = kernelSkipReason();

function connectMs(host: string, port: number): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(performance.now() - start);
    });
    socket.once('error', reject);
    socket.setTimeout(5000, () => reject(new Error('timeout')));
  });
}

describe.skipIf(skip)(`test network namespace${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('reaches a server in the namespace; a SYN-drop rule makes every connect wait for the SYN retransmit', async () => {
    const net = createTestNetwork();
    try {
      await net.listen(8080);
      expect(await connectMs(net.peerAddress, 8080)).toBeLessThan(500);
      net.nft(`table inet sherlock_test {
        chain input {
          type filter hook input priority 0;
          tcp dport 8080 tcp flags syn numgen inc mod 2 == 0 drop
        }
      }`);
      const slow = [await connectMs(net.peerAddress, 8080), await connectMs(net.peerAddress, 8080)];
      // numgen alternates: of two consecutive connects' first SYNs, one is dropped (~1 s RTO).
      expect(Math.max(...slow)).toBeGreaterThan(900);
    } finally {
      net.destroy();
    }
    expect(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })).not.toContain(net.name);
  });

  it('reaches a host behind a router; the shaped link toward it holds a queue; nothing is left behind', async () => {
    const routed = createRoutedNetwork();
    try {
      routed.spawn(['node', '-e', `require('net').createServer((s) => s.resume()).listen(8081, '${routed.farAddress}', () => console.log('up'))`]);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // A connect needs the way there and back (far's default route is the router).
      expect(await connectMs(routed.farAddress, 8081)).toBeLessThan(500);
      routed.shape(8e6, 200);
      expect(routed.router.exec(['tc', 'qdisc', 'show'])).toMatch(/tbf .*rate 8Mbit/);
    } finally {
      routed.destroy();
    }
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    expect(left).not.toContain(routed.router.name);
    expect(execFileSync('ip', ['route', 'show'], { encoding: 'utf8' })).not.toContain(routed.farAddress);
  });
});
