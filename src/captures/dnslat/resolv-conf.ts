// The resolver settings a process reads: /etc/resolv.conf as its own mount
// namespace shows it (a container's, a netns's bound file), through
// /proc/PID/root. Read at the window's end for the processes whose queries
// went unanswered: the order of the nameservers and the timeout say why each
// lookup waited before the next server was asked.
import { readFileSync } from 'node:fs';

export interface ResolvConf {
  nameservers: string[];
  /** The `options` words (timeout:1, attempts:2, rotate, single-request-reopen, ...). */
  options: string[];
}

export function resolvConfOf(pid: number): ResolvConf | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/root/etc/resolv.conf`, 'utf8');
  } catch {
    return undefined; // gone, or no file: glibc then asks 127.0.0.1
  }
  const conf: ResolvConf = { nameservers: [], options: [] };
  for (const line of text.split('\n')) {
    const [keyword, ...words] = line
      .replace(/[#;].*/, '')
      .trim()
      .split(/\s+/);
    if (keyword === 'nameserver' && words[0]) conf.nameservers.push(words[0]);
    else if (keyword === 'options') conf.options.push(...words);
  }
  return conf;
}
