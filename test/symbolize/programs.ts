// Small C programs the symbolization tests compile and run: each prints the
// runtime addresses of functions with distinctive names, then waits until its
// stdin closes (or SIGKILL; every child is killed in the end).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why a C compiler cannot be used here, or undefined when it can. */
export function ccSkipReason(): string | undefined {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'needs a C compiler (cc)';
  }
}

export const MAIN_FN = 'sherlock_burn_cpu_9f2a';
export const LIB_FN = 'sherlock_lib_fn_7c41';
export const STRIP_EXPORT = 'sherlock_strip_addr_2b8e';

export const PROGRAM_C = `#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef WITH_LIB
void *${LIB_FN}(void);
#endif
#ifdef WITH_STRIPPED
void *${STRIP_EXPORT}(void);
#endif
__attribute__((noinline)) int ${MAIN_FN}(int n)
{
	volatile int x = 0;
	for (int i = 0; i < n; i++)
		x += i * 3;
	return x;
}
int main(void)
{
	char buf[16];
	void *anon = mmap(0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("main %p\\n", (void *)&${MAIN_FN});
	printf("anon %p\\n", anon);
#ifdef WITH_LIB
	printf("lib %p\\n", ${LIB_FN}());
#endif
#ifdef WITH_STRIPPED
	printf("stripped %p\\n", ${STRIP_EXPORT}());
#endif
	printf("ready\\n");
	fflush(stdout);
	${MAIN_FN}(10);
	while (read(0, buf, sizeof buf) > 0)
		;
	return 0;
}
`;

/** Returns its own address (through the GOT: the library's definition, as no one else defines it). */
export const LIB_C = `__attribute__((noinline)) void *${LIB_FN}(void)
{
	return (void *)&${LIB_FN};
}
`;

/** A static (never exported) function; the library is linked stripped (-s), so no symbol covers it. */
export const STRIPPED_C = `static __attribute__((noinline)) int hidden_work_5e1d(int n)
{
	volatile int x = n;
	for (int i = 0; i < 64; i++)
		x ^= i;
	return x;
}
void *${STRIP_EXPORT}(void)
{
	hidden_work_5e1d(1);
	return (void *)&hidden_work_5e1d;
}
`;

export class Workdir {
  readonly path = mkdtempSync(join(tmpdir(), 'sherlock-symbolize-'));
  private readonly children = new Set<ChildProcess>();

  file(name: string): string {
    return join(this.path, name);
  }

  write(name: string, text: string): string {
    const path = this.file(name);
    writeFileSync(path, text);
    return path;
  }

  cc(args: string[]): void {
    execFileSync('cc', args, { cwd: this.path, stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
  }

  /** Starts `file` and resolves once it printed "ready": its printed "name 0xaddr" lines by name. */
  async start(file: string, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; pid: number; addrs: Map<string, bigint> }> {
    const child = spawn(file, [], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    const addrs = new Map<string, bigint>();
    await new Promise<void>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error(`${file} did not print "ready" in 10 s: "${text}"`)), 10_000);
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`${file} exited early (${code}): "${text}"`)));
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        text += chunk;
        if (!/^ready$/m.test(text)) return;
        clearTimeout(timer);
        for (const m of text.matchAll(/^(\w+) (?:0x)?([0-9a-f]+)$/gm)) addrs.set(m[1] as string, BigInt(`0x${m[2]}`));
        resolve();
      });
    });
    child.removeAllListeners('exit');
    child.once('exit', () => this.children.delete(child));
    return { child, pid: child.pid as number, addrs };
  }

  /** Closes the child's stdin (it exits by itself) and waits for its exit. */
  async finish(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  remove(): void {
    for (const child of this.children) child.kill('SIGKILL');
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** The build id `readelf -n` reports, or undefined when readelf is missing or shows none. */
export function readelfBuildId(file: string): string | undefined {
  try {
    const text = execFileSync('readelf', ['-n', file], { encoding: 'utf8' });
    return /Build ID:\s*([0-9a-f]+)/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

export interface MapsLine {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
}

/** /proc/PID/maps parsed independently of the code under test. */
export function mapsOf(text: string): MapsLine[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [range, , offset, , , ...rest] = line.split(/\s+/);
      const [start, end] = (range as string).split('-');
      return { start: BigInt(`0x${start}`), end: BigInt(`0x${end}`), offset: BigInt(`0x${offset}`), path: rest.join(' ') };
    });
}
