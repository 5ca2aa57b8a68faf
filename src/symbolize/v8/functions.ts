// Names the JavaScript function of a V8 frame from the process's memory: the
// frame's function slot holds a JSFunction, whose SharedFunctionInfo holds
// the name (a string, or in the function's ScopeInfo once compiled, with the
// function's start in its script's source: its line) and the Script, whose
// name is the file. Read while the process lives, within a
// poll of the sample: objects move only when the garbage collector compacts,
// and every object read is checked by its map's instance type first.
import { ProcessMemory } from '../process-memory.js';
import type { V8Layout } from './layout.js';

export interface JsFunction {
  /** "" for an anonymous function. */
  name: string;
  /** The script's name: a path, a file: URL or "node:internal/..." */
  file?: string;
  /** The line the function starts on in it. */
  line?: number;
}

/** Longest name read; longer are cut (a minified bundle's inferred names). */
const MAX_NAME = 256;
/** Most SharedFunctionInfos remembered per process. */
const MAX_FUNCTIONS = 65_536;
/** A ScopeInfo with more locals than this is no ScopeInfo we read. */
const MAX_LOCALS = 10_000;
/** V8 keeps up to this many local names inline in a ScopeInfo, more in a hash table (kMaxInlinedLocalNamesSize). */
const MAX_INLINED_LOCALS = 75;
/** Optional ScopeInfo fields after the locals read for the name and position (saved class variable, function variable, inferred name, position). */
const SCOPE_TAIL_SLOTS = 7;
/** Longest script source read for its lines (characters). */
const MAX_SOURCE = 16 << 20;
/** Scripts whose line starts are remembered per process. */
const MAX_SCRIPTS = 1024;

export class V8Functions {
  private readonly memory: ProcessMemory;
  /** By SharedFunctionInfo address; null: not one. */
  private readonly functions = new Map<bigint, JsFunction | null>();
  /** Where each line of a script's source starts (by Script address); null: its source cannot be read. */
  private readonly lineStarts = new Map<bigint, { starts: number[]; length: number } | null>();

  constructor(
    readonly pid: number,
    private readonly layout: V8Layout,
  ) {
    this.memory = new ProcessMemory(pid);
  }

  /**
   * The function of a frame whose frame pointer is `fp`, from the two slots
   * below it (`stackWord` reads the stack copy). A JavaScript frame keeps its
   * context (a heap object) and its JSFunction there; V8's other frames keep
   * a Smi marker of their type, and native code whatever it likes: anything
   * that does not check out is no JavaScript frame.
   */
  functionAt(fp: number, stackWord: (address: number) => bigint | undefined): JsFunction | undefined {
    const context = stackWord(fp + this.layout.fpContext);
    const jsFunction = stackWord(fp + this.layout.fpFunction);
    if (context === undefined || jsFunction === undefined || !this.isHeapObject(context) || !this.isHeapObject(jsFunction)) return undefined;
    const shared = this.field(jsFunction, this.layout.functionShared);
    if (shared === undefined || !this.isHeapObject(shared)) return undefined;
    let fn = this.functions.get(shared);
    if (fn === undefined) {
      fn = this.readShared(shared) ?? null;
      if (this.functions.size >= MAX_FUNCTIONS) this.functions.clear();
      this.functions.set(shared, fn);
    }
    return fn ?? undefined;
  }

  close(): void {
    this.memory.close();
  }

  private readShared(shared: bigint): JsFunction | undefined {
    const L = this.layout;
    if (this.typeOf(shared) !== L.types.sharedFunctionInfo) return undefined;
    const nameOrScope = this.field(shared, L.sharedNameOrScopeInfo);
    const direct = nameOrScope === undefined ? undefined : this.string(nameOrScope);
    const scope = direct === undefined && nameOrScope !== undefined ? this.scopeInfoParts(nameOrScope) : undefined;
    const script = this.field(shared, L.sharedScriptOrDebugInfo);
    const isScript = script !== undefined && this.typeOf(script) === L.types.script;
    const scriptName = isScript ? this.field(script, L.scriptName) : undefined;
    const file = scriptName === undefined ? undefined : this.string(scriptName);
    const line = isScript && scope?.start !== undefined ? this.lineOf(script, scope.start) : undefined;
    return { name: direct ?? scope?.name ?? '', ...(file ? { file } : {}), ...(line !== undefined ? { line } : {}) };
  }

  /**
   * A compiled function's ScopeInfo: after the local variables' names and
   * infos come optional fields (by flags): the function variable's name, the
   * inferred name, then its position in the source (two Smis, start < end).
   * The first non-empty string is the name, the first such pair the start.
   */
  private scopeInfoParts(scopeInfo: bigint): { name?: string; start?: number } | undefined {
    const L = this.layout;
    if (this.typeOf(scopeInfo) !== L.types.scopeInfo) return undefined;
    const slot = (index: number) => this.field(scopeInfo, 8 + index * 8);
    const locals = this.smi(slot(L.scopeInfoLocalCount));
    if (locals === undefined || locals < 0 || locals > MAX_LOCALS) return undefined;
    const after = L.scopeInfoFirstLocal + (locals < MAX_INLINED_LOCALS ? locals : 1) + locals;
    const tail = Array.from({ length: SCOPE_TAIL_SLOTS }, (_, i) => slot(after + i));
    let name: string | undefined;
    let start: number | undefined;
    for (let i = 0; i < tail.length; i++) {
      const value = tail[i];
      if (value === undefined) continue;
      if (name === undefined && i < 4) name = this.string(value) || undefined;
      const [from, to] = [this.smi(value), this.smi(tail[i + 1])];
      if (start === undefined && from !== undefined && to !== undefined && from >= 0 && to - from >= 2) start = from;
    }
    return { ...(name ? { name } : {}), ...(start !== undefined ? { start } : {}) };
  }

  /** The 1-based line of a source position, from the script's source (read once per script). */
  private lineOf(script: bigint, position: number): number | undefined {
    let lines = this.lineStarts.get(script);
    if (lines === undefined) {
      const sourceField = this.field(script, this.layout.scriptSource);
      const source = sourceField === undefined ? undefined : this.string(sourceField, 0, MAX_SOURCE);
      lines = source === undefined ? null : { starts: [0, ...[...source.matchAll(/\n/g)].map((m) => m.index! + 1)], length: source.length };
      if (this.lineStarts.size >= MAX_SCRIPTS) this.lineStarts.clear();
      this.lineStarts.set(script, lines);
    }
    if (!lines || position >= lines.length) return undefined; // not in the source read: no position after all
    const { starts } = lines;
    let [lo, hi] = [0, starts.length];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! <= position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private string(tagged: bigint, depth = 0, max = MAX_NAME): string | undefined {
    const S = this.layout.strings;
    const type = this.typeOf(tagged);
    if (type === undefined || type >= S.firstNonString || depth > 4) return undefined;
    const base = tagged - BigInt(this.layout.heapObjectTag);
    const length = this.memory.read(base + BigInt(S.length), 4)?.readInt32LE(0);
    if (length === undefined || length < 0) return undefined;
    const representation = type & S.representationMask;
    if (representation === S.thin) {
      const actual = this.field(tagged, S.thinActual);
      return actual === undefined ? undefined : this.string(actual, depth + 1, max);
    }
    if (representation === S.cons) {
      const [first, second] = [this.field(tagged, S.consFirst), this.field(tagged, S.consSecond)];
      const a = first === undefined ? undefined : this.string(first, depth + 1, max);
      const b = second === undefined ? undefined : this.string(second, depth + 1, max);
      return a === undefined || b === undefined ? undefined : (a + b).slice(0, max);
    }
    if (representation !== S.seq) return undefined; // external and sliced strings: not a function's name
    const oneByte = (type & S.encodingMask) === S.oneByte;
    const n = Math.min(length, max);
    const chars = this.memory.read(base + BigInt(S.chars), oneByte ? n : n * 2);
    return chars?.toString(oneByte ? 'latin1' : 'utf16le');
  }

  /** The instance type of a heap object (its map's). */
  private typeOf(tagged: bigint): number | undefined {
    if (!this.isHeapObject(tagged)) return undefined;
    const map = this.field(tagged, this.layout.mapOffset);
    if (map === undefined || !this.isHeapObject(map)) return undefined;
    return this.memory.read(map - BigInt(this.layout.heapObjectTag) + BigInt(this.layout.mapInstanceType), 2)?.readUInt16LE(0);
  }

  /** A tagged field of a heap object. */
  private field(tagged: bigint, offset: number): bigint | undefined {
    return this.memory.read(tagged - BigInt(this.layout.heapObjectTag) + BigInt(offset), 8)?.readBigUInt64LE(0);
  }

  private smi(value: bigint | undefined): number | undefined {
    return value === undefined || (value & 1n) !== 0n ? undefined : Number(BigInt.asIntN(64, value) >> BigInt(this.layout.smiShift));
  }

  private isHeapObject(value: bigint): boolean {
    return (value & BigInt(this.layout.heapObjectTagMask)) === BigInt(this.layout.heapObjectTag) && value > 0x10000n && value < 1n << 47n;
  }
}
