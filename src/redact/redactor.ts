// Hides secrets in strings and argv. A Redactor counts what it replaced, so
// a capture's manifest can say how many secrets it kept out.
import { BUILT_IN_HINT, BUILT_IN_PATTERNS, CLIENT_FLAGS, REDACTED, SECRET_FLAG, type SecretPattern } from './patterns.js';

export interface Redactor {
  /** The text with every secret replaced by [REDACTED]. */
  text(value: string): string;
  /** argv-aware: also the argument after `--password`, `mysql -pS`, `sshpass -p S`, `curl -u user:S`. */
  argv(args: readonly string[], text?: (value: string) => string): string[];
  /** Replacements made so far. */
  readonly count: number;
}

/** Built-in patterns plus the operator's (already compiled, global). */
export function createRedactor(extra: readonly SecretPattern[] = []): Redactor {
  const patterns = [...BUILT_IN_PATTERNS, ...extra];
  let count = 0;

  const text = (value: string): string => {
    let out = value;
    // The built-in patterns only where their hint is; the operator's always.
    const from = BUILT_IN_HINT.test(value) ? 0 : BUILT_IN_PATTERNS.length;
    for (let i = from; i < patterns.length; i++) {
      const { regex } = patterns[i]!;
      regex.lastIndex = 0;
      if (!regex.test(out)) continue;
      regex.lastIndex = 0;
      out = out.replace(regex, (...args: unknown[]) => {
        const match = args[0] as string;
        const groups = args[args.length - 1] as Record<string, string | undefined> | undefined;
        const secret = typeof groups === 'object' ? groups?.secret : undefined;
        if (secret === REDACTED) return match;
        count++;
        if (!secret) return REDACTED;
        const offset = match.lastIndexOf(secret);
        return match.slice(0, offset) + REDACTED + match.slice(offset + secret.length);
      });
    }
    return shellWords(out) ? commandLine(out) : out;
  };

  /** A command line inside one string (`sh -c "mysql -pS db"`): its words as argv. */
  const commandLine = (value: string): string => {
    const parts = value.split(/(\s+)/);
    const words = parts.filter((_, i) => i % 2 === 0);
    const redacted = argvRules(words);
    if (redacted.every((w, i) => w === words[i])) return value;
    return parts.map((p, i) => (i % 2 === 0 ? redacted[i / 2]! : p)).join('');
  };

  /** The flag rules over words; counts what they hide. */
  const argvRules = (words: readonly string[]): string[] => {
    const out = [...words];
    let client: ReturnType<typeof CLIENT_FLAGS.get>;
    for (let i = 0; i < out.length; i++) {
      const word = out[i]!;
      if (/^(?:;|\||\|\||&&|&)$/.test(word)) {
        client = undefined;
        continue;
      }
      const name = word.replace(/^.*\//, '').replace(/^["']|["']$/g, '');
      const known = CLIENT_FLAGS.get(name);
      if (known) {
        client = known;
        continue;
      }
      const next = out[i + 1];
      const hideNext = () => {
        if (next === undefined || next === REDACTED || (next.startsWith('-') && next.length > 1 && !client?.next?.includes(word))) return;
        out[i + 1] = REDACTED;
        count++;
        i++;
      };
      if (SECRET_FLAG.test(word) && !word.includes('=')) {
        hideNext();
        continue;
      }
      if (!client) continue;
      if (client.next?.includes(word)) {
        hideNext();
        continue;
      }
      if (client.userPass?.includes(word)) {
        if (next?.includes(':') || next?.includes('%')) {
          out[i + 1] = next.replace(/([:%]).*$/, `$1${REDACTED}`);
          count++;
          i++;
        }
        continue;
      }
      const attached = client.attached?.find((flag) => word.startsWith(flag) && word.length > flag.length && !word.startsWith('--'));
      if (attached && !word.endsWith(REDACTED)) {
        out[i] = attached + REDACTED;
        count++;
      }
    }
    return out;
  };

  return {
    text,
    argv: (args, each = text) => argvRules(args.map((a) => each(a))),
    get count() {
      return count;
    },
  };
}

const shellWords = (value: string) => /\s/.test(value) && /(?:^|\s)-/.test(value);
