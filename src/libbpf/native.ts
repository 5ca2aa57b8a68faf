// koffi declarations for libbpf.so.1 (1.1 API) and the few libc calls the
// binding needs. Loaded lazily so that importing the binding never fails on a
// machine without libbpf; the first use raises NotSupportedError instead.
import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';
import { NotSupportedError } from './errors.js';

/** An opaque libbpf pointer (struct bpf_object *, bpf_program *, ...). */
export type Handle = unknown;

function declare(libbpf: LibraryHandle, libc: LibraryHandle) {
  koffi.opaque('bpf_object');
  koffi.opaque('bpf_program');
  koffi.opaque('bpf_map');
  koffi.opaque('bpf_link');
  koffi.opaque('btf');
  const printFn = koffi.proto('int libbpf_print_fn(int level, const char *fmt, void *args)');
  // libbpf 1.1's struct bpf_object_open_opts (sz = 80 on 64-bit).
  const openOpts = koffi.struct('bpf_object_open_opts', {
    sz: 'size_t',
    object_name: 'const char *',
    relaxed_maps: 'bool',
    pin_root_path: 'const char *',
    removed_attach_prog_fd: 'uint32_t',
    kconfig: 'const char *',
    btf_custom_path: 'const char *',
    kernel_log_buf: 'void *',
    kernel_log_size: 'size_t',
    kernel_log_level: 'uint32_t',
  });

  const f = (sig: string) => libbpf.func(sig);
  const c = (sig: string) => libc.func(sig);
  return {
    printFn,
    openOptsSize: koffi.sizeof(openOpts),
    libbpf_set_print: f('void *libbpf_set_print(libbpf_print_fn *fn)'),
    libbpf_num_possible_cpus: f('int libbpf_num_possible_cpus(void)'),
    libbpf_major_version: f('uint32_t libbpf_major_version(void)'),
    libbpf_minor_version: f('uint32_t libbpf_minor_version(void)'),
    libbpf_probe_bpf_prog_type: f('int libbpf_probe_bpf_prog_type(int prog_type, void *opts)'),

    bpf_object__open_file: f('bpf_object *bpf_object__open_file(const char *path, bpf_object_open_opts *opts)'),
    bpf_object__load: f('int bpf_object__load(bpf_object *obj)'),
    bpf_object__close: f('void bpf_object__close(bpf_object *obj)'),
    bpf_object__next_program: f('bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prev)'),
    bpf_object__next_map: f('bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *prev)'),
    bpf_object__btf: f('btf *bpf_object__btf(bpf_object *obj)'),

    bpf_program__name: f('const char *bpf_program__name(bpf_program *prog)'),
    bpf_program__section_name: f('const char *bpf_program__section_name(bpf_program *prog)'),
    bpf_program__type: f('int bpf_program__type(bpf_program *prog)'),
    bpf_program__fd: f('int bpf_program__fd(bpf_program *prog)'),
    bpf_program__autoload: f('bool bpf_program__autoload(bpf_program *prog)'),
    bpf_program__set_autoload: f('int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
    bpf_program__attach: f('bpf_link *bpf_program__attach(bpf_program *prog)'),
    bpf_program__attach_tracepoint: f('bpf_link *bpf_program__attach_tracepoint(bpf_program *prog, const char *category, const char *name)'),
    bpf_program__attach_perf_event: f('bpf_link *bpf_program__attach_perf_event(bpf_program *prog, int pfd)'),
    bpf_link__destroy: f('int bpf_link__destroy(bpf_link *link)'),
    // Takes a struct bpf_object_skeleton built by attach-batch.ts (only its progs are read by attach).
    bpf_object__attach_skeleton: f('int bpf_object__attach_skeleton(void *skeleton)'),
    bpf_link_create: f('int bpf_link_create(int prog_fd, int target_fd, int attach_type, void *opts)'),
    // A hook chain's head (hook-chain.ts): a program built in place, with its one-slot map.
    bpf_map_create: f('int bpf_map_create(int map_type, const char *map_name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)'),
    bpf_prog_load: f('int bpf_prog_load(int prog_type, const char *prog_name, const char *license, const void *insns, size_t insn_cnt, void *opts)'),
    bpf_raw_tracepoint_open: f('int bpf_raw_tracepoint_open(const char *name, int prog_fd)'),

    bpf_map__name: f('const char *bpf_map__name(bpf_map *map)'),
    bpf_map__fd: f('int bpf_map__fd(bpf_map *map)'),
    bpf_map__type: f('int bpf_map__type(bpf_map *map)'),
    bpf_map__key_size: f('uint32_t bpf_map__key_size(bpf_map *map)'),
    bpf_map__value_size: f('uint32_t bpf_map__value_size(bpf_map *map)'),
    bpf_map__max_entries: f('uint32_t bpf_map__max_entries(bpf_map *map)'),
    bpf_map__set_max_entries: f('int bpf_map__set_max_entries(bpf_map *map, uint32_t max)'),
    bpf_map__is_internal: f('bool bpf_map__is_internal(bpf_map *map)'),
    bpf_map__initial_value: f('void *bpf_map__initial_value(bpf_map *map, _Out_ size_t *size)'),

    btf__find_by_name_kind: f('int32_t btf__find_by_name_kind(btf *btf, const char *name, uint32_t kind)'),
    btf__type_by_id: f('void *btf__type_by_id(btf *btf, uint32_t id)'),
    btf__name_by_offset: f('const char *btf__name_by_offset(btf *btf, uint32_t offset)'),
    btf__parse: f('btf *btf__parse(const char *path, void *btf_ext)'),
    btf__free: f('void btf__free(btf *btf)'),

    bpf_map_lookup_elem: f('int bpf_map_lookup_elem(int fd, void *key, void *value)'),
    bpf_map_update_elem: f('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)'),
    bpf_map_delete_elem: f('int bpf_map_delete_elem(int fd, void *key)'),
    bpf_map_get_next_key: f('int bpf_map_get_next_key(int fd, void *key, void *next_key)'),
    bpf_map_lookup_batch: f('int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, _Inout_ uint32_t *count, void *opts)'),
    bpf_enable_stats: f('int bpf_enable_stats(int type)'),
    bpf_obj_get_info_by_fd: f('int bpf_obj_get_info_by_fd(int fd, void *info, _Inout_ uint32_t *len)'),

    syscall: c('long syscall(long number, ...)'),
    mmap: c('void *mmap(void *addr, size_t length, int prot, int flags, int fd, int64_t offset)'),
    munmap: c('int munmap(void *addr, size_t length)'),
    // memcpy from an address (a mapping plus an offset) into a Buffer; the return value is not wanted.
    memcpy_from: libc.func('memcpy', 'void', ['void *', 'uintptr_t', 'size_t']),
    close: c('int close(int fd)'),
    malloc: c('void *malloc(size_t size)'),
    free: c('void free(void *ptr)'),
    // ioctl is variadic; every request used here takes one integer, passed as
    // the third integer argument (the same registers on x86-64 and arm64), so
    // it can also run on koffi's threads (.async), which variadic calls cannot.
    ioctl: c('int ioctl(int fd, unsigned long request, unsigned long arg)'),
    vsnprintf: c('int vsnprintf(_Out_ uint8_t *buf, size_t size, const char *fmt, void *args)'),
    mount: c('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, void *data)'),
    sysconf: c('long sysconf(int name)'),
  };
}

export type Native = ReturnType<typeof declare>;
let native: Native | undefined;

/**
 * Memory sets kept for calls on koffi's threads (its most). A capture start
 * has ~30 such calls in flight (one per tracepoint); past the resident sets,
 * each call allocated and freed its own 256 KiB, which cost 0.1–1 ms of the
 * event loop per call on a busy host. Only pages a call touches take RSS.
 */
const RESIDENT_ASYNC_POOLS = 32;

/** The bound functions; throws NotSupportedError when libbpf.so.1 is missing. */
export function lib(): Native {
  if (native) return native;
  try {
    koffi.config({ ...koffi.config(), resident_async_pools: RESIDENT_ASYNC_POOLS });
  } catch {
    // Another library was loaded through koffi first: its settings stay.
  }
  let libbpf: LibraryHandle;
  try {
    libbpf = koffi.load(process.env.SHERLOCK_LIBBPF ?? 'libbpf.so.1');
  } catch (err) {
    throw new NotSupportedError('libbpf.so.1', `could not be loaded (${(err as Error).message}); on Debian: apt-get install libbpf1`);
  }
  native = declare(libbpf, koffi.load('libc.so.6'));
  return native;
}

/** errno of the last failed native call; read it right after the call. */
export const lastErrno = (): number => koffi.errno();

/** libbpf 1.x returns -errno from int calls; normalize to a positive errno or 0. */
export function errnoOf(ret: number): number {
  return ret < 0 ? -ret : 0;
}

export { koffi };
