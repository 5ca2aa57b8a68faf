// Reads tcpdrop's map at the end: decode, name each reason (BTF) and dropping
// function (kallsyms), find each socket's owner by its inode, and keep the
// target's drops when a target was given (drops run in softirq context, so
// the kernel cannot filter them by process).
import type { BpfObject } from '../../libbpf/index.js';
import { createSymbolizer } from '../../symbolize/index.js';
import { kernelClock } from '../../util/clock.js';
import type { Collector } from '../capture.js';
import type { ResolvedTarget } from '../target.js';
import { sherlockPids, socketOwners, targetPids, targetSelects } from '../target-processes.js';
import { decodeDropKey, decodeDropValue, decodeListener } from './decode.js';
import { ListenerTracker } from './listener-tracker.js';
import type { DropReasons } from './reasons.js';
import type { DropRow, TcpdropData } from './types.js';

export function collectDrops(
  object: BpfObject,
  target: ResolvedTarget,
  reasons: DropReasons,
  options: { maxRows: number; allProtocols: boolean; excludeCgroupId?: bigint | undefined },
): Collector<TcpdropData> {
  const wanted = targetSelects(target) ? new Set(targetPids(target)) : undefined;
  const tracker = new ListenerTracker(wanted ? [...wanted] : undefined);
  return {
    poll: () => tracker.poll(),
    windowEnded: () => tracker.windowEnded(),
    finish() {
      const entries = object
        .map('drops')
        .entries()
        .map(([k, v]) => ({ key: decodeDropKey(k), value: decodeDropValue(v) }));
      const backlogs = new Map(
        object
          .map('listeners')
          .entries()
          .map(([k, v]) => {
            const l = decodeListener(k, v);
            return [l.inode, l] as const;
          }),
      );
      const sampled = tracker.finish(backlogs);
      const owners = socketOwners(new Set([...entries.map((e) => e.key.skInode).filter((i) => i > 0n), ...sampled.inodes]));
      const sherlocks = sherlockPids(options.excludeCgroupId);
      const listeners = sampled.listeners
        .map((l) => ({ ...l, pid: owners.get(BigInt(l.inode))?.pid ?? 0, comm: owners.get(BigInt(l.inode))?.comm ?? '' }))
        .filter((l) => (!wanted || wanted.has(l.pid)) && !sherlocks(l.pid));
      const locations = locationNames([...new Set(entries.map((e) => e.key.location))]);
      const toMs = kernelClock();
      let notTarget = 0;
      let ofSherlock = 0;
      const rows: DropRow[] = [];
      for (const { key, value } of entries) {
        const owner = owners.get(key.skInode);
        if (wanted && !(owner && wanted.has(owner.pid))) {
          notTarget += value.count;
          continue;
        }
        if (owner && sherlocks(owner.pid)) {
          ofSherlock += value.count;
          continue;
        }
        rows.push({
          reason: reasons.name(key.reason),
          reasonCode: key.reason,
          protocol: key.protocol,
          source: key.source,
          destination: key.destination,
          port: key.skPort,
          state: key.skState,
          ...(value.maxAckBacklog ? { backlog: value.maxAckBacklog, acceptQueue: value.ackBacklog } : {}),
          pid: owner?.pid ?? 0,
          comm: owner?.comm ?? '',
          drops: value.count,
          bytes: value.bytes,
          location: locations.get(key.location) ?? `0x${key.location.toString(16)}`,
          firstSeen: new Date(toMs(value.firstNs)).toISOString(),
          lastSeen: new Date(toMs(value.lastNs)).toISOString(),
        });
      }
      rows.sort((a, b) => b.drops - a.drops);
      const conntrack = tracker.fullConntrackTables();
      return {
        ...(conntrack.length ? { conntrack } : {}),
        listeners,
        rows: rows.slice(0, options.maxRows),
        totalRows: entries.length,
        totalDrops: rows.reduce((n, r) => n + r.drops, 0),
        notTarget,
        ...(ofSherlock ? { sherlocks: ofSherlock } : {}),
        reasonNames: reasons.source,
        protocols: options.allProtocols ? 'all' : 'tcp+udp',
      };
    },
  };
}

/** Kernel addresses → function names ("tcp_v4_rcv"); unknown ones are left out. */
function locationNames(addresses: bigint[]): Map<bigint, string> {
  const names = new Map<bigint, string>();
  const wanted = addresses.filter((a) => a > 0n);
  if (!wanted.length) return names;
  const symbolizer = createSymbolizer();
  try {
    const frames = symbolizer.symbolizeKernel(wanted);
    wanted.forEach((a, i) => {
      const name = frames[i]?.name;
      if (name && !name.startsWith('0x')) names.set(a, name.replace(/\+0x[0-9a-f]+$/, ''));
    });
  } catch {
    // no kallsyms: addresses stay
  } finally {
    symbolizer.close();
  }
  return names;
}
