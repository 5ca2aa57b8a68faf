// tcpdrop's data: one row per kind of drop, heaviest first.

export interface DropRow {
  /** The kernel's reason, named from its BTF ("TCP_LISTEN_OVERFLOW", "NETFILTER_DROP"). */
  reason: string;
  reasonCode: number;
  protocol: string;
  /** From the packet's headers, "ip:port"; "" when the kernel had not parsed them. */
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

export interface TcpdropData {
  rows: DropRow[];
  /** Rows counted in the kernel (rows keeps maxRows of them, after the target filter). */
  totalRows: number;
  /** Drops in rows kept. */
  totalDrops: number;
  /** Drops left out because a target was given and their socket's owner is not in it (or unknown). */
  notTarget: number;
  /** Where reason names came from: the kernel's BTF, or none (numbers). */
  reasonNames: 'btf' | 'none';
  /** Only TCP (the default), or every protocol. */
  protocols: 'tcp' | 'all';
}
