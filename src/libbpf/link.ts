// Attaching a loaded program by what its section says, with a typed error
// naming what the kernel lacks. Kprobes and fentry are absent on some kernels
// (this project's own among them), so they get NotSupportedError, not errno.
import { BpfError, NotSupportedError, privilegedCallError } from './errors.js';
import type { ProgramSpec } from './spec.js';
import { errnoOf, lastErrno, lib, type Handle } from './native.js';
import { closeFd, onlineCpus, openPerfEvent, type PerfEventSpec } from './perf-event.js';
import { hasKprobes, hasTracepoint } from './tracefs.js';
import { attachBatchAsync } from './attach-batch.js';

export interface AttachOptions {
  /** For SEC("perf_event") programs: the event, opened on every online CPU. */
  perfEvent?: PerfEventSpec;
}

/** One program attached (possibly on many CPUs); destroy() detaches all of it. */
export interface BpfLink {
  readonly program: string;
  readonly target: string;
  destroy(): void;
  /** The same off the event loop: a tracepoint detach waits ~60 ms in the kernel (RCU). */
  destroyAsync(): Promise<void>;
}

export function attachProgram(prog: Handle, spec: ProgramSpec, options: AttachOptions): BpfLink {
  const [kind, ...rest] = spec.section.split('/');
  switch (kind) {
    case 'tracepoint':
    case 'tp': {
      const [category = '', name = ''] = rest;
      if (!hasTracepoint(category, name)) throw new NotSupportedError(`tracepoint ${category}:${name}`, 'is not available in this kernel');
      const link = lib().bpf_program__attach_tracepoint(prog, category, name);
      return wrapLink(spec, `${category}:${name}`, link, 'attaching a tracepoint program');
    }
    case 'perf_event':
      return attachPerfEventEverywhere(prog, spec, options.perfEvent);
    case 'kprobe':
    case 'kretprobe':
    case 'ksyscall':
      if (!hasKprobes()) throw new NotSupportedError('kprobes', 'are not available in this kernel');
      break;
    case 'fentry':
    case 'fexit':
    case 'tp_btf':
      throw new NotSupportedError(`${kind} programs`, 'are refused by this kernel');
  }
  return wrapLink(spec, spec.section, lib().bpf_program__attach(prog), 'attaching a BPF program');
}

/**
 * The same off the event loop for tracepoints (each attach patches kernel text
 * and waits on every CPU: 1–30 ms on a busy VM); other kinds attach here. A
 * failure is retried in place, so it raises the same typed error with its errno.
 */
export async function attachProgramAsync(prog: Handle, spec: ProgramSpec, options: AttachOptions): Promise<BpfLink> {
  const [kind, category = '', name = ''] = spec.section.split('/');
  if ((kind !== 'tracepoint' && kind !== 'tp') || !hasTracepoint(category, name)) return attachProgram(prog, spec, options);
  const link = await new Promise<Handle>((resolve) => {
    lib().bpf_program__attach_tracepoint.async(prog, category, name, (err: unknown, result: Handle) => resolve(err ? null : result));
  });
  if (!link) return attachProgram(prog, spec, options);
  return wrapLink(spec, `${category}:${name}`, link, 'attaching a tracepoint program');
}

/**
 * attachProgramAsync for several programs of one object: their tracepoints in
 * one call on one of koffi's threads (attach-batch.ts), the rest one by one.
 * One promise per program, in order; a tracepoint the batch did not attach is
 * attached alone, so a failure raises the same typed error with its errno.
 */
export function attachProgramsAsync(programs: readonly { prog: Handle; spec: ProgramSpec }[], options: AttachOptions): Promise<BpfLink>[] {
  const batchable = programs.filter(({ spec }) => {
    const [kind, category = '', name = ''] = spec.section.split('/');
    return (kind === 'tracepoint' || kind === 'tp') && hasTracepoint(category, name);
  });
  const batch = batchable.length > 1 ? attachBatchAsync(batchable.map((p) => p.prog)) : undefined;
  return programs.map(async (p) => {
    const at = batch ? batchable.indexOf(p) : -1;
    if (at < 0) return attachProgramAsync(p.prog, p.spec, options);
    const link = (await batch!)[at];
    if (!link) return attachProgramAsync(p.prog, p.spec, options);
    const [, category, name] = p.spec.section.split('/');
    return wrapLink(p.spec, `${category}:${name}`, link, 'attaching a tracepoint program');
  });
}

function wrapLink(spec: ProgramSpec, target: string, link: Handle, action: string): BpfLink {
  if (!link) {
    const errno = lastErrno();
    const err = privilegedCallError(`attach of ${spec.name} to ${target}`, errno, action);
    throw err;
  }
  let live = true;
  return {
    program: spec.name,
    target,
    destroy() {
      if (live) lib().bpf_link__destroy(link);
      live = false;
    },
    destroyAsync() {
      if (!live) return Promise.resolve();
      live = false;
      return new Promise((resolve) => lib().bpf_link__destroy.async(link, () => resolve()));
    },
  };
}

function attachPerfEventEverywhere(prog: Handle, spec: ProgramSpec, event: PerfEventSpec | undefined): BpfLink {
  if (!event) throw new TypeError(`program ${spec.name} is a perf_event program: pass options.perfEvent`);
  return preparePerfEventLink(prog, spec, event).enable();
}

const BPF_PERF_EVENT = 41; // enum bpf_attach_type
const PERF_EVENT_IOC_ENABLE = 0x2400;
const PERF_EVENT_IOC_SET_BPF = 0x40042408;

/**
 * A perf_event program linked to its event on every online CPU, every event
 * still disabled: it costs no CPU until enabled (a warm object's, so that a
 * run's start only enables). Either enable it or destroy it.
 */
export interface PreparedPerfLink {
  readonly event: PerfEventSpec;
  readonly cpus: readonly number[];
  enable(): BpfLink;
  /** The same on koffi's threads: each enable waits for its CPU (an IPI), slow on a busy VM. */
  enableAsync(): Promise<BpfLink>;
  destroy(): void;
}

export function preparePerfEventLink(prog: Handle, spec: ProgramSpec, event: PerfEventSpec): PreparedPerfLink {
  const native = lib();
  const progFd = native.bpf_program__fd(prog);
  const cpus = onlineCpus();
  const opened: { cpu: number; fd: number; linkFd: number }[] = [];
  const closeAll = () => {
    for (const { fd, linkFd } of opened.splice(0)) {
      closeFd(linkFd);
      closeFd(fd);
    }
  };
  try {
    for (const cpu of cpus) {
      const fd = openPerfEvent(event, cpu); // opened disabled
      opened.push({ cpu, fd, linkFd: -1 });
      const linkFd = native.bpf_link_create(progFd, fd, BPF_PERF_EVENT, null);
      if (linkFd >= 0) {
        opened[opened.length - 1]!.linkFd = linkFd;
        continue;
      }
      // Kernels before 5.15 have no perf-event links: the event itself then holds the program.
      if (native.ioctl(fd, PERF_EVENT_IOC_SET_BPF, progFd) !== 0) {
        throw privilegedCallError(`attach of ${spec.name} to perf event on CPU ${cpu}`, lastErrno() || errnoOf(linkFd), 'attaching a perf event program');
      }
    }
  } catch (err) {
    closeAll();
    throw err;
  }
  let state: 'prepared' | 'enabled' | 'destroyed' = 'prepared';
  const link = (): BpfLink => ({
    program: spec.name,
    target: `perf_event type ${event.type} config ${event.config}`,
    destroy: closeAll,
    async destroyAsync() {
      const fds = opened.splice(0).flatMap(({ fd, linkFd }) => [linkFd, fd]);
      await Promise.all(fds.filter((fd) => fd >= 0).map((fd) => new Promise((resolve) => native.close.async(fd, resolve))));
    },
  });
  const take = () => {
    if (state !== 'prepared') throw new Error(`perf events of ${spec.name} were already ${state}`);
    state = 'enabled';
  };
  const failed = (cpu: number, errno: number) => {
    closeAll();
    return new BpfError(`enabling the perf event of ${spec.name} on CPU ${cpu}`, errno);
  };
  return {
    event,
    cpus,
    enable() {
      take();
      for (const { cpu, fd } of opened) if (native.ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) !== 0) throw failed(cpu, lastErrno());
      return link();
    },
    async enableAsync() {
      take();
      const results = await Promise.all(
        opened.map(
          ({ fd }) =>
            new Promise<number>((resolve) => native.ioctl.async(fd, PERF_EVENT_IOC_ENABLE, 0, (err: unknown, ret: number) => resolve(err ? -1 : ret))),
        ),
      );
      const bad = results.findIndex((r) => r !== 0);
      // errno of a call on another thread is not ours to read: the sync call says it.
      if (bad >= 0 && native.ioctl(opened[bad]!.fd, PERF_EVENT_IOC_ENABLE, 0) !== 0) throw failed(opened[bad]!.cpu, lastErrno());
      return link();
    },
    destroy() {
      if (state === 'prepared') closeAll();
      state = 'destroyed';
    },
  };
}
