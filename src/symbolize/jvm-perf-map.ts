// A JVM's JIT frames named without restarting it: since JDK 17 a running JVM
// writes its perf map on request (`jcmd PID Compiler.perfmap`: every method
// compiled now, to /tmp/perf-PID.map in its own /tmp and pid namespace), which
// the symbolizer reads as it reads node's --perf-basic-prof. Asked after the
// window, once per JVM for all the stack captures finishing together. jcmd
// runs as the JVM's user (the attach socket is its), from the JVM's own JDK
// when it is on this host's filesystem, else from PATH; a JRE without jcmd, an
// older JDK or -XX:+DisableAttachMechanism leave the frames "[JIT code]".
import { execFile } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { onPath } from '../util/on-path.js';
import { readText } from '../util/read-text.js';
import { Semaphore } from '../util/semaphore.js';

/** jcmd starts a JVM of its own (~0.5 s of a CPU and ~40 MiB here); one that hangs is not waited for. */
const JCMD_TIMEOUT_MS = 10_000;
/** JVMs asked per call, those with the most samples first, and jcmds at once (for every capture): a host of fifty JVMs gets no fifty jcmds. */
const MAX_JVMS = 4;
const AT_ONCE = 2;
/** A map asked for this recently serves every capture finishing now. */
const FRESH_MS = 30_000;

const asked = new Map<number, { atMs: number; written: Promise<boolean> }>();
/** jcmds running at once, whichever capture asked. */
const jcmdRuns = new Semaphore(AT_ONCE);

/** pid's executable is a JVM's launcher (java, or a JDK tool running on one). */
export function isJvm(pid: number): boolean {
  try {
    return /\/java$/.test(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return false;
  }
}

/**
 * Asks the JVMs among the pids sampled (each pid once per sample or stack: the most often first) for their perf
 * map, MAX_JVMS of them (AT_ONCE jcmds at a time, whichever capture asked); resolves with those that wrote one. Never throws.
 */
export async function requestJvmPerfMaps(sampled: Iterable<number>): Promise<number[]> {
  const weight = new Map<number, number>();
  for (const pid of sampled) weight.set(pid, (weight.get(pid) ?? 0) + 1);
  const jvms = [...weight.keys()]
    .filter(isJvm)
    .sort((a, b) => weight.get(b)! - weight.get(a)!)
    .slice(0, MAX_JVMS);
  const written = await Promise.all(jvms.map(writtenFor));
  return jvms.filter((_, i) => written[i]);
}

function writtenFor(pid: number): Promise<boolean> {
  const now = Date.now();
  const cached = asked.get(pid);
  if (cached && now - cached.atMs < FRESH_MS) return cached.written;
  for (const [old, a] of asked) if (now - a.atMs >= FRESH_MS) asked.delete(old);
  const written = jcmdRuns.run(() => runJcmd(pid));
  asked.set(pid, { atMs: now, written });
  return written;
}

function runJcmd(pid: number): Promise<boolean> {
  const owner = ownerOf(pid);
  const jcmd = jcmdFor(pid);
  if (!owner || !jcmd) return Promise.resolve(false);
  // jcmd is a JVM too: without -XX:-UsePerfData it leaves /tmp/hsperfdata_<user> behind.
  return new Promise((resolve) => {
    execFile(
      jcmd,
      ['-J-XX:-UsePerfData', String(pid), 'Compiler.perfmap'],
      { timeout: JCMD_TIMEOUT_MS, uid: owner.uid, gid: owner.gid, cwd: '/', env: { PATH: process.env.PATH ?? '' } },
      (err, stdout) =>
        // jcmd says "Command executed successfully" or nothing on success; an unknown command (JDK < 17) prints why.
        resolve(!err && !/not recognized|Exception|Unable to open/i.test(String(stdout))),
    );
  });
}

/** The JVM's own jcmd (its JDK's bin, when this host's filesystem is its), else jcmd on PATH. */
function jcmdFor(pid: number): string | undefined {
  try {
    const own = join(dirname(readlinkSync(`/proc/${pid}/exe`)), 'jcmd');
    if (readlinkSync(`/proc/${pid}/ns/mnt`) === readlinkSync('/proc/self/ns/mnt') && existsSync(own)) return own;
  } catch {
    // gone, or its namespace unreadable: PATH's
  }
  return onPath('jcmd');
}

/** The effective uid and gid the JVM runs as (/proc/PID/status). */
function ownerOf(pid: number): { uid: number; gid: number } | undefined {
  const status = readText(`/proc/${pid}/status`);
  const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status ?? '')?.[1];
  const gid = /^Gid:\s+\d+\s+(\d+)/m.exec(status ?? '')?.[1];
  return uid !== undefined && gid !== undefined ? { uid: Number(uid), gid: Number(gid) } : undefined;
}
