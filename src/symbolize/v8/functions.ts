// Names the JavaScript function of a V8 frame from the process's memory: the
// frame's function slot holds a JSFunction, whose SharedFunctionInfo holds
// the name (a string, or in the function's ScopeInfo once compiled) and the
// Script, whose name is the file. Read while the process lives, within a
// poll of the sample: objects move only when the garbage collector compacts,
// and every object read is checked by its map's instance type first.
import { ProcessMemory } from '../python/memory.js';
import type { V8Layout } from './layout.js';

export interface JsFunction {
  /** "" for an anonymous function. */
  name: string;
  /** The script's name: a path, a file: URL or "node:internal/..." */
  file?: string;
}

/** Longest name read; longer are cut (a minified bundle's inferred names). */
const MAX_NAME = 256;
/** Most SharedFunctionInfos remembered per process. */
const MAX_FUNCTIONS = 65_536;
/** A ScopeInfo with more locals than this is no ScopeInfo we read. */
const MAX_LOCALS = 10_000;
/** V8 keeps up to this many local names inline in a ScopeInfo, more in a hash table (kMaxInlinedLocalNamesSize). */
const MAX_INLINED_LOCALS = 75;

export class V8Functions {
  private readonly memory: ProcessMemory;
  /** By SharedFunctionInfo address; null: not one. */
  private readonly functions = new Map<bigint, JsFunction | null>();

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
    const name = nameOrScope === undefined ? undefined : (this.string(nameOrScope) ?? this.scopeInfoName(nameOrScope));
    const script = this.field(shared, L.sharedScriptOrDebugInfo);
    const scriptName = script !== undefined && this.typeOf(script) === L.types.script ? this.field(script, L.scriptName) : undefined;
    const file = scriptName === undefined ? undefined : this.string(scriptName);
    return { name: name ?? '', ...(file ? { file } : {}) };
  }

  /**
   * A compiled function's name is in its ScopeInfo, after the local variables'
   * names and infos: the function variable's name, else the inferred name,
   * whichever comes first (the fields between are optional, by flags).
   */
  private scopeInfoName(scopeInfo: bigint): string | undefined {
    const L = this.layout;
    if (this.typeOf(scopeInfo) !== L.types.scopeInfo) return undefined;
    const slot = (index: number) => this.field(scopeInfo, 8 + index * 8);
    const locals = this.smi(slot(L.scopeInfoLocalCount));
    if (locals === undefined || locals < 0 || locals > MAX_LOCALS) return undefined;
    const after = L.scopeInfoFirstLocal + (locals < MAX_INLINED_LOCALS ? locals : 1) + locals;
    for (let i = after; i < after + 4; i++) {
      const value = slot(i);
      const name = value === undefined ? undefined : this.string(value);
      if (name) return name;
    }
    return undefined;
  }

  private string(tagged: bigint, depth = 0): string | undefined {
    const S = this.layout.strings;
    const type = this.typeOf(tagged);
    if (type === undefined || type >= S.firstNonString || depth > 4) return undefined;
    const base = tagged - BigInt(this.layout.heapObjectTag);
    const length = this.memory.read(base + BigInt(S.length), 4)?.readInt32LE(0);
    if (length === undefined || length < 0) return undefined;
    const representation = type & S.representationMask;
    if (representation === S.thin) {
      const actual = this.field(tagged, S.thinActual);
      return actual === undefined ? undefined : this.string(actual, depth + 1);
    }
    if (representation === S.cons) {
      const [first, second] = [this.field(tagged, S.consFirst), this.field(tagged, S.consSecond)];
      const a = first === undefined ? undefined : this.string(first, depth + 1);
      const b = second === undefined ? undefined : this.string(second, depth + 1);
      return a === undefined || b === undefined ? undefined : (a + b).slice(0, MAX_NAME);
    }
    if (representation !== S.seq) return undefined; // external and sliced strings: not a function's name
    const oneByte = (type & S.encodingMask) === S.oneByte;
    const n = Math.min(length, MAX_NAME);
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
