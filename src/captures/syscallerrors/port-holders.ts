// Who holds the port a bind was refused (EADDRINUSE): the TCP listener on it
// in the binder's network namespace and its owner, an earlier instance still
// running or another service given the same port. Looked up soon after the
// first failure (the binder of a restart loop lives milliseconds).
import { readListeners, type Listener } from '../tcpresponse/listeners.js';
import { socketOwners } from '../target-processes.js';
import { netnsOf } from '../../util/netns.js';
import { portOf } from '../../analysis/common.js';

export interface PortHolder {
  pid: number;
  comm: string;
  /** The listener's address: "127.0.0.1:8080", "0.0.0.0:8080". */
  listener: string;
}

/** The process listening on `asked`'s port where tgid (gone: this process) would have bound it. */
export function portHolder(tgid: number, asked: string, listeners: Listener[] = readListeners()): PortHolder | undefined {
  const port = portOf(asked);
  const netns = netnsOf(tgid) ?? netnsOf(process.pid);
  const candidates = listeners.filter((l) => l.port === port && l.netns === netns);
  if (!port || !candidates.length) return undefined;
  const owners = socketOwners(new Set(candidates.map((l) => BigInt(l.inode))));
  for (const l of candidates) {
    const owner = owners.get(BigInt(l.inode));
    if (owner && owner.pid !== tgid) return { pid: owner.pid, comm: owner.comm, listener: l.local };
  }
  return undefined;
}
