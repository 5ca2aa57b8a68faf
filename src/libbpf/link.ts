// Attaching a loaded program by what its section says, with a typed error
// naming what the kernel lacks. Kprobes and fentry are absent on some kernels
// (this project's own among them), so they get NotSupportedError, not errno.
import { BpfError, NotSupportedError, privilegedCallError } from './errors.js';
import type { ProgramSpec } from './spec.js';
import { lastErrno, lib, type Handle } from './native.js';
import { closeFd, onlineCpus, openPerfEvent, type PerfEventSpec } from './perf-event.js';
import { hasKprobes, hasTracepoint } from './tracefs.js';

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
  const links: BpfLink[] = [];
  const destroy = () => links.splice(0).forEach((l) => l.destroy());
  const destroyAsync = async () => void (await Promise.all(links.splice(0).map((l) => l.destroyAsync())));
  try {
    for (const cpu of onlineCpus()) {
      const fd = openPerfEvent(event, cpu);
      const link = lib().bpf_program__attach_perf_event(prog, fd);
      if (!link) {
        const errno = lastErrno();
        closeFd(fd);
        throw errno
          ? privilegedCallError(`attach of ${spec.name} to perf event on CPU ${cpu}`, errno, 'attaching a perf event program')
          : new BpfError('bpf_program__attach_perf_event', errno);
      }
      // libbpf's perf-event link owns the fd and closes it on destroy.
      links.push(wrapLink(spec, `perf_event cpu ${cpu}`, link, 'attaching a perf event program'));
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return { program: spec.name, target: `perf_event type ${event.type} config ${event.config}`, destroy, destroyAsync };
}
