// Garbage collection, by the frames each managed runtime collects in. A
// collector's work is spread over many functions (no one of them is hot), and
// while it runs the program's threads wait (a scavenge stops JavaScript, a
// stop-the-world pause every Java thread): its share of a process's CPU is the
// number that says "GC pressure". Names as the symbolizer gives them
// (demangled C++, Go's package-qualified names, C functions).

export interface GcRuntime {
  /** "V8", "the JVM", ... */
  runtime: string;
  /** Where to look next, for this runtime. */
  next: string;
  /** A stack in GC: one of its frames, or the thread's name (a collector's own threads). */
  frame: RegExp;
  thread?: RegExp;
  /**
   * Where a program's thread waits for the collector outside its frames: an allocation that found no room (its slow
   * path waits for a collection, or for the heap lock one holds), a thread stopped while one runs.
   */
  waits?: RegExp;
  /** The runtime's own threads that run a collection without being the collector's (the JVM's VM Thread runs each pause): their waits in it are its work. */
  runsCollections?: RegExp;
  /** Kinds of collection, for the sentence ("scavenges of the young generation"), by a frame of the stack. */
  phases: { name: string; frame: RegExp }[];
}

export const GC_RUNTIMES: GcRuntime[] = [
  {
    runtime: 'V8',
    next: 'what allocates (the JavaScript frames under Heap::CollectGarbage in the flame graph), and the heap limits: --max-semi-space-size when scavenges dominate, --max-old-space-size when mark-compact does (a heap near its limit)',
    frame:
      /\b(v8::internal::(Heap::(CollectGarbage|CollectAllGarbage|CollectAllAvailableGarbage|PerformGarbageCollection|Scavenge|MarkCompact|MinorMarkSweep|MinorMarkCompact|HandleGCRequest)\b|(ScavengerCollector|Scavenger|MarkCompactCollector|MinorMarkCompactCollector|MinorMarkSweepCollector|ConcurrentMarking|IncrementalMarking|Sweeper|ArrayBufferSweeper)::)|cppgc::internal::(MarkerBase|Sweeper)::)/,
    phases: [
      { name: 'scavenges of the young generation', frame: /\bv8::internal::(Scavenger|ScavengerCollector|Heap::Scavenge|MinorMark\w*)/ },
      { name: 'mark-compact of the old generation', frame: /\bv8::internal::(MarkCompactCollector|ConcurrentMarking|IncrementalMarking|Heap::MarkCompact)/ },
    ],
  },
  {
    runtime: 'the JVM',
    next: 'its GC log (-Xlog:gc*), the heap size (-Xmx) against the live set, and the allocation rate',
    frame:
      /\b(G1CollectedHeap|G1ParScanThreadState|G1ConcurrentMark|G1YoungCollector|G1FullCollector|G1RemSet|PSScavenge|PSParallelCompact|ParallelScavengeHeap|SerialHeap|GenCollectedHeap|DefNewGeneration|ZHeap|ZDriver\w*|ZGeneration\w*|ShenandoahHeap|ShenandoahConcurrentGC)::/,
    thread: /^(GC Thread#\d+|G1 (Conc|Main Marker|Refine|Service)|ZWorker|Shenandoah)/,
    // Every collector's allocation path (MemAllocator, JDK 11+), a thread held at a safepoint, JNI critical sections holding a collection off.
    waits: /^(MemAllocator::allocate\w*|SafepointSynchronize::block|GCLocker::stall_until_clear)\b/,
    runsCollections: /^VM Thread$/,
    phases: [],
  },
  {
    runtime: 'Go',
    next: 'its allocations (pprof alloc_space), GOGC and GOMEMLIMIT',
    frame:
      /^runtime\.(gcBgMarkWorker|gcDrain\w*|scanobject|scanblock|scanstack|markroot\w*|gcAssistAlloc\w*|gcStart|gcMarkDone|gcMarkTermination|bgsweep|sweepone|greyobject|wbBufFlush\w*)$/,
    phases: [{ name: 'assists (allocating goroutines made to mark)', frame: /^runtime\.gcAssistAlloc/ }],
  },
  {
    runtime: 'CPython',
    next: 'objects in reference cycles, gc.get_stats(), and gc.set_threshold or gc.freeze for a large long-lived heap',
    frame:
      /^(gc_collect_main|gc_collect_with_callback|gc_collect_generations|gc_collect_region|gc_collect_full|gc_collect_young|gc_collect_increment|_PyGC_Collect|deduce_unreachable|_Py_RunGC)$/,
    phases: [],
  },
  {
    runtime: 'Ruby',
    next: 'GC.stat and the RUBY_GC_HEAP_* settings, and what allocates',
    frame: /^(gc_start|gc_marks\w*|gc_sweep\w*|garbage_collect\w*|rb_gc_start|gc_mark_roots)$/,
    phases: [],
  },
  {
    runtime: '.NET',
    next: 'its GC mode (Server or Workstation), gen2 collections (dotnet-counters), and what allocates',
    frame: /\b((WKS|SVR)::gc_heap::|(WKS|SVR)::GCHeap::GarbageCollect)/,
    waits: /\b((WKS|SVR)::GCHeap::WaitUntilGCComplete|Thread::RareDisablePreemptiveGC)\b/,
    phases: [],
  },
  {
    runtime: 'the BEAM',
    next: 'the processes with the largest heaps (erlang:process_info), and their message queues',
    frame: /^erts_garbage_collect\w*$/,
    phases: [],
  },
];

/** Any runtime's GC frame: one test per name, the runtime looked for only on a match. */
const ANY_GC_FRAME = new RegExp(GC_RUNTIMES.map((rt) => rt.frame.source).join('|'));

/**
 * For one profile: the runtime collecting in a stack, by its frames or its thread's name, undefined when it
 * is not GC. Each frame name is tested once: a profile's stacks repeat the same names.
 */
export function gcClassifier(): (frameNames: readonly string[], comm: string) => GcRuntime | undefined {
  const byName = new Map<string, GcRuntime | null>();
  const runtimeOf = (name: string): GcRuntime | null => {
    let rt = byName.get(name);
    if (rt === undefined) byName.set(name, (rt = ANY_GC_FRAME.test(name) ? (GC_RUNTIMES.find((r) => r.frame.test(name)) ?? null) : null));
    return rt;
  };
  return (frameNames, comm) => {
    const byThread = GC_RUNTIMES.find((rt) => rt.thread?.test(comm));
    if (byThread) return byThread;
    for (const name of frameNames) {
      const rt = runtimeOf(name);
      if (rt) return rt;
    }
    return undefined;
  };
}

/** A collector's own thread (between collections it waits for the next: idle). */
export const isCollectorThread = (comm: string) => GC_RUNTIMES.some((rt) => rt.thread?.test(comm));

/** Where a program's thread waited for its collector: the runtime, and the innermost frame that says so. */
export interface GcWait {
  runtime: GcRuntime;
  frame: string;
}

const ANY_GC_WAIT_FRAME = new RegExp([ANY_GC_FRAME.source, ...GC_RUNTIMES.flatMap((rt) => (rt.waits ? [rt.waits.source] : []))].join('|'));

/**
 * For one analysis of off-CPU stacks (leaf last): the collector a program's thread waited for, by a frame of the
 * collector or of a wait for it; a collector's own threads (idle between collections) wait for nothing of it.
 */
export function gcWaitClassifier(): (frameNames: readonly string[], comm: string) => GcWait | undefined {
  const byName = new Map<string, GcRuntime | null>();
  const runtimeOf = (name: string): GcRuntime | null => {
    let rt = byName.get(name);
    if (rt === undefined)
      byName.set(name, (rt = ANY_GC_WAIT_FRAME.test(name) ? (GC_RUNTIMES.find((r) => r.frame.test(name) || r.waits?.test(name)) ?? null) : null));
    return rt;
  };
  return (frameNames, comm) => {
    if (isCollectorThread(comm) || GC_RUNTIMES.some((rt) => rt.runsCollections?.test(comm))) return undefined;
    for (let i = frameNames.length - 1; i >= 0; i--) {
      const runtime = runtimeOf(frameNames[i]!);
      if (runtime) return { runtime, frame: frameNames[i]! };
    }
    return undefined;
  };
}

/** The phase of the collection this stack is in, if its runtime names phases. */
export const gcPhaseOf = (rt: GcRuntime, frameNames: readonly string[]): string | undefined =>
  rt.phases.find((p) => frameNames.some((n) => p.frame.test(n)))?.name;
