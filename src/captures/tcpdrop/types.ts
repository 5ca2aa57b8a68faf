// tcpdrop's data: one row per kind of drop, heaviest first.

export interface DropRow {
  /** The kernel's reason, named from its BTF ("TCP_LISTEN_OVERFLOW", "NETFILTER_DROP"). */
  reason: string;
  reasonCode: number;
  protocol: string;
  /** From the packet's headers: "ip:port" for the service's side (the lower port), "ip" for the other; "" when not parsed. */
  source: string;
  destination: string;
  /** The socket the kernel had matched the packet to: its local port (0: none) and TCP state. */
  port: number;
  state: string;
  /** A listener's backlog (listen()'s, capped by somaxconn) and accept queue at the last drop. */
  backlog?: number;
  acceptQueue?: number;
  /** The socket's owner (found by its inode at the end); 0 and "" when unknown. */
  pid: number;
  comm: string;
  drops: number;
  bytes: number;
  /** The kernel function that dropped it. */
  location: string;
  firstSeen: string;
  lastSeen: string;
}

/**
 * A listener whose accept queue was seen at its limit (sampled from /proc),
 * with its network namespace's listen overflows in the window: SYNs refused
 * for a full accept queue are counted only there (they are not freed as drops).
 */
export interface ListenerOverflow {
  netns: string;
  /** 0: overflows in a namespace where no listener was seen at its limit (between samples). */
  port: number;
  inode: string;
  pid: number;
  comm: string;
  /** Its backlog (sk_max_ack_backlog), when a connection joined its queue in the window (sock:sk_data_ready). */
  backlog?: number;
  maxAcceptQueue: number;
  /** Samples that found its queue at its limit, of all samples. */
  atLimitSamples: number;
  samples: number;
  /** TcpExt ListenOverflows / ListenDrops of its namespace during the window. */
  namespaceOverflows: number;
  namespaceListenDrops: number;
  /** Other listeners of the namespace seen at their limit too (the overflows are theirs together). */
  sharedWith: number;
}

/** A network namespace whose connection-tracking table refused new entries in the window (full). */
export interface ConntrackTable {
  netns: string;
  /** The host's own namespace, or a process in it (to name it). */
  host: boolean;
  pid: number;
  comm: string;
  /** Its entries at the end, against the host's nf_conntrack_max. */
  entries: number;
  max?: number;
  /** In the window: entries it could not make (their packets dropped), and entries evicted to make room. */
  drops: number;
  earlyDrops: number;
}

export interface TcpdropData {
  /** Namespaces whose connection-tracking table was full (a new connection's packets dropped). */
  conntrack?: ConntrackTable[];
  /** Listeners at their accept queue's limit and their namespace's overflows. */
  listeners: ListenerOverflow[];
  rows: DropRow[];
  /** Rows counted in the kernel (rows keeps maxRows of them, after the target filter). */
  totalRows: number;
  /** Drops in rows kept. */
  totalDrops: number;
  /** Drops left out because a target was given and their socket's owner is not in it (or unknown). */
  notTarget: number;
  /** Drops at Sherlock's own sockets (its API, Redis), left out: what it costs is reported apart. */
  sherlocks?: number;
  /** Where reason names came from: the kernel's BTF, or none (numbers). */
  reasonNames: 'btf' | 'none';
  /** Only TCP and UDP (the default), or every protocol. */
  protocols: 'tcp+udp' | 'all';
}
