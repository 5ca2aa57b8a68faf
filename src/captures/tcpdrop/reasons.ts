// Drop reason numbers → names, from the running kernel's BTF (enum
// skb_drop_reason: its numbering changes between kernels, so it is never
// hard-coded), without the SKB_DROP_REASON_ prefix: "TCP_LISTEN_OVERFLOW".
import { btfEnum } from '../../libbpf/index.js';

const PREFIX = 'SKB_DROP_REASON_';

export interface DropReasons {
  name(reason: number): string;
  /** The number of a reason by its short name, if this kernel has it. */
  number(name: string): number | undefined;
  /** Where the names came from, for the result. */
  source: 'btf' | 'none';
}

export function dropReasons(): DropReasons {
  let values: Map<number, string> | undefined;
  try {
    values = btfEnum('skb_drop_reason');
  } catch {
    values = undefined; // no libbpf or no BTF: numbers only
  }
  const names = new Map([...(values ?? [])].map(([n, full]) => [n, full.startsWith(PREFIX) ? full.slice(PREFIX.length) : full]));
  const numbers = new Map([...names].map(([n, name]) => [name, n]));
  return {
    name: (reason) => names.get(reason) ?? `reason ${reason}`,
    number: (name) => numbers.get(name),
    source: values ? 'btf' : 'none',
  };
}
