// A capture result's JSON read as it streams by, for its part of report.html:
// what the page shows of a result is its scalars, the first few hundred rows
// of each list and, for stacks, an aggregate of every stack. So the result is
// never parsed whole: the members besides arrays are parsed as they are, each
// array keeps its first elements (up to a byte budget, what the tables show),
// and the rest of it is counted and, for the one array a caller asks for
// (`stacks`), handed over element by element and let go. Memory stays at the
// budget, whatever the result's size.
//
// The figures of a cut array (its whole length, how many of its elements are
// objects) are kept beside it: arrayFigures(array).

/** JSON text of one result kept parsed at once by default (load.reportParseMiB). */
export const DEFAULT_KEEP_BYTES = 8 * 1024 * 1024;
/** Rows each array keeps whatever its share: what a page table shows (MAX_TABLE_ROWS). */
export const MIN_KEPT_ROWS = 300;
/** An array this small (JSON text, and at most an eighth of the budget) is kept whole. */
export const WHOLE_ARRAY_BYTES = 512 * 1024;

export interface ArrayFigures {
  /** Elements of the whole array. */
  length: number;
  /** Of those, plain objects ({...}). */
  objects: number;
  /** Elements kept (the array's own length). */
  kept: number;
}

const cutArrays = new WeakMap<readonly unknown[], ArrayFigures>();

const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The whole array's figures: those recorded for a cut one, else its own. */
export function arrayFigures(array: readonly unknown[]): ArrayFigures {
  const cut = cutArrays.get(array);
  if (cut) return cut;
  let objects = 0;
  for (const v of array) if (isObject(v)) objects++;
  return { length: array.length, objects, kept: array.length };
}

export interface StreamedResult {
  result: Record<string, unknown>;
  /** Members left out whole (a non-array member bigger than what was left of the budget), with their sizes. */
  leftOut: { field: string; bytes: number }[];
  /** The most JSON text kept parsed (bytes): at most the budget. */
  keptBytes: number;
  /** The largest single text held while scanning (an element or member): at most the budget. */
  largestText: number;
}

export interface StreamedResultOptions {
  keepBytes?: number;
  /** This top-level array's elements are parsed and given to `each`, one at a time, all of them. */
  stream?: { field: string; each(element: unknown): void };
}

const QUOTE = 34;
const BACKSLASH = 92;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** Feed it the JSON text chunk by chunk (`push`), then `finish`. Throws on text that is not one JSON object. */
export class StreamedResultReader {
  private readonly keepBytes: number;
  private readonly result: Record<string, unknown> = {};
  private readonly leftOut: StreamedResult['leftOut'] = [];
  private kept = 0;
  private largest = 0;
  // Scanner state.
  private depth = 0;
  private inString = false;
  private escaped = false;
  private done = false;
  private phase: 'key' | 'colon' | 'value' | 'after' = 'key';
  private key = '';
  private readingKey = false;
  /** The member's value (non-array) or the array's current element, as text so far. */
  private text = '';
  private textBytes = 0;
  private skippingText = false;
  private textStarted = false;
  private firstChar = 0;
  // The array being read (a member whose value starts with "[").
  private array: unknown[] | undefined;
  private figures: ArrayFigures | undefined;
  private arrayBytes = 0;

  constructor(private readonly options: StreamedResultOptions = {}) {
    this.keepBytes = options.keepBytes ?? DEFAULT_KEEP_BYTES;
  }

  push(chunk: string): void {
    let from = 0; // start of the text of the current value/element inside this chunk (when collecting)
    const collect = (to: number) => this.collect(chunk.slice(from, to));
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.readingKey) {
            this.readingKey = false;
            this.key = JSON.parse(this.key + '"') as string;
            this.phase = 'colon';
            continue;
          }
        }
        if (this.readingKey) this.key += chunk[i];
        continue;
      }
      if (this.done) {
        if (!isSpace(c)) throw new Error('text after the result object');
        continue;
      }
      if (this.depth === 0) {
        if (isSpace(c)) continue;
        if (c !== 123 /* { */) throw new Error('the result is not a JSON object');
        this.depth = 1;
        this.phase = 'key';
        continue;
      }
      if (this.depth === 1) {
        if (this.phase === 'key') {
          if (isSpace(c) || c === 44 /* , */) continue;
          if (c === 125 /* } */) {
            this.depth = 0;
            this.done = true;
            continue;
          }
          if (c !== QUOTE) throw new Error('a member name was expected');
          this.inString = true;
          this.readingKey = true;
          this.key = '"';
          continue;
        }
        if (this.phase === 'colon') {
          if (isSpace(c)) continue;
          if (c !== 58 /* : */) throw new Error('":" was expected');
          this.phase = 'value';
          continue;
        }
        if (this.phase === 'value') {
          if (isSpace(c)) continue;
          if (c === 91 /* [ */) {
            this.startArray();
            this.depth = 2;
            continue;
          }
          // A scalar or an object: collected until the "," or "}" that ends the member.
          this.startText();
          this.phase = 'after';
          from = i;
        }
        if (this.phase === 'after') {
          if (c === 44 || c === 125) {
            collect(i);
            this.endMember();
            this.phase = 'key';
            if (c === 125) {
              this.depth = 0;
              this.done = true;
            }
            continue;
          }
          if (c === QUOTE) this.inString = true;
          else if (c === 123 || c === 91) this.depth++;
          continue;
        }
      }
      // Inside a member's value.
      if (this.array && this.depth === 2) {
        if (isSpace(c) && !this.textStarted) continue;
        if (c === 44 /* , */ || c === 93 /* ] */) {
          if (this.textStarted) {
            collect(i);
            this.endElement();
          }
          if (c === 93) {
            this.endArray();
            this.depth = 1;
            this.phase = 'key';
          }
          continue;
        }
        if (!this.textStarted) {
          this.startText();
          this.firstChar = c;
          // An array that keeps no more and is not streamed: its elements are only counted.
          if (this.array.length < this.figures!.length && !this.streamed()) this.skippingText = true;
          from = i;
        }
      }
      if (c === QUOTE) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if (c === 125 || c === 93) this.depth--;
    }
    if (this.textStarted) collect(chunk.length);
  }

  finish(): StreamedResult {
    if (!this.done) throw new Error('the result JSON ended early');
    return { result: this.result, leftOut: this.leftOut, keptBytes: this.kept, largestText: this.largest };
  }

  private startText(): void {
    this.text = '';
    this.textBytes = 0;
    this.skippingText = false;
    this.textStarted = true;
  }

  /** Text of the current value; past what it may still keep, only its size is counted. */
  private collect(part: string): void {
    if (!this.textStarted || !part) return;
    this.textBytes += part.length;
    if (this.skippingText) return;
    if (this.textBytes > this.roomFor()) {
      this.skippingText = true;
      this.text = '';
      return;
    }
    this.text += part;
    if (this.text.length > this.largest) this.largest = this.text.length;
  }

  /** How much text the current value may hold. */
  private roomFor(): number {
    // An element streamed to the caller is parsed and let go: it may take the whole budget.
    if (this.array && this.streamed()) return this.keepBytes;
    return Math.max(0, this.keepBytes - this.kept);
  }

  private streamed(): boolean {
    return this.options.stream?.field === this.key;
  }

  private endMember(): void {
    this.textStarted = false;
    if (this.skippingText) {
      this.leftOut.push({ field: this.key, bytes: this.textBytes });
      return;
    }
    const text = this.text.trim();
    this.text = '';
    this.result[this.key] = JSON.parse(text) as unknown;
    this.kept += text.length;
  }

  private startArray(): void {
    this.array = [];
    this.figures = { length: 0, objects: 0, kept: 0 };
    this.arrayBytes = 0;
    this.textStarted = false;
  }

  private endElement(): void {
    this.textStarted = false;
    const figures = this.figures!;
    const array = this.array!;
    const text = this.skippingText ? '' : this.text.trim();
    this.text = '';
    figures.length++;
    if (this.firstChar === 123 /* { */) figures.objects++;
    if (this.skippingText) return; // only counted (or too big to hold)
    // Each array keeps the rows a table shows (MIN_KEPT_ROWS), or all of it while it is small
    // (a capture's table may sum a short list up); the rest is only counted.
    const keep =
      array.length === figures.length - 1 &&
      this.kept + text.length <= this.keepBytes &&
      (array.length < MIN_KEPT_ROWS || this.arrayBytes + text.length <= Math.min(WHOLE_ARRAY_BYTES, this.keepBytes / 8));
    const streamed = this.streamed();
    if (!keep && !streamed) return;
    const value = JSON.parse(text) as unknown;
    if (streamed) this.options.stream!.each(value);
    if (keep) {
      array.push(value);
      this.kept += text.length;
      this.arrayBytes += text.length;
    }
  }

  private endArray(): void {
    const array = this.array!;
    const figures = this.figures!;
    figures.kept = array.length;
    if (figures.kept < figures.length) cutArrays.set(array, figures);
    this.result[this.key] = array;
    this.array = undefined;
    this.figures = undefined;
  }
}
