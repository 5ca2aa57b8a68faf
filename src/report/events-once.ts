// A streaming capture's events go into the bundle once, in its NDJSON file
// (what jq, log tools and the CLI take). Its <capture>.json keeps everything
// else and names that file instead: `"eventsFile":"execsnoop.ndjson",
// "eventCount":N` where the "events" array was. The JSON is scanned as it
// streams by, never parsed whole: a run may hold a million events, and the
// bundle writes files outside the result gate (model.ts, resultGate).

/** What is left of a capture JSON without its events; undefined when it was no object with an "events" member. */
export interface EventsLeftOut {
  text: string;
  eventCount: number;
}

/** Past this many bytes of what is kept, the scanner gives up and the JSON goes into the bundle as stored. */
export const MAX_KEPT_BYTES = 8 * 1024 * 1024;

const QUOTE = 34;
const BACKSLASH = 92;
const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;

/** Feed it the JSON text chunk by chunk (`push`), then `finish` with the file that holds the events. */
export class EventsStripper {
  private readonly members: string[] = [];
  private current = '';
  private keptBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private expectKey = false;
  private readingKey = false;
  private key = '';
  private skipping = false;
  private skippedAt = -1;
  private commas = 0;
  private sawElement = false;
  private done = false;
  /** Set when the text is not what the scanner expects (or too big to keep): the caller writes it as stored. */
  failed: string | undefined;

  constructor(private readonly field = 'events') {}

  push(chunk: string): void {
    if (this.failed) return;
    let keepFrom = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        else if (this.readingKey) this.key += chunk[i];
        if (!this.inString) this.readingKey = false;
        continue;
      }
      if (this.done) {
        if (!isSpace(c)) return this.fail('text after the top-level object');
        continue;
      }
      if (this.depth === 0) {
        if (isSpace(c)) continue;
        if (c !== 123 /* { */) return this.fail('not a JSON object');
        this.depth = 1;
        this.expectKey = true;
        keepFrom = i + 1;
        continue;
      }
      if (this.skipping && this.depth === 2 && !isSpace(c) && c !== 93 /* ] */) {
        if (c === 44 /* , */) this.commas++;
        else this.sawElement = true;
      }
      if (c === QUOTE) {
        this.inString = true;
        if (this.depth === 1 && this.expectKey) {
          this.readingKey = true;
          this.key = '';
          this.expectKey = false;
        }
      } else if (c === 123 || c === 91 /* [ */) this.depth++;
      else if (c === 125 /* } */ || c === 93) {
        this.depth--;
        if (this.depth === 0) {
          this.endMember(chunk.slice(keepFrom, i));
          this.done = true;
        }
      } else if (this.depth === 1 && c === 58 /* : */ && this.key === this.field && !this.skipping && this.skippedAt < 0) {
        this.skipping = true;
        this.skippedAt = this.members.length;
        this.current = '';
      } else if (this.depth === 1 && c === 44) {
        this.endMember(chunk.slice(keepFrom, i));
        keepFrom = i + 1;
        this.expectKey = true;
      }
    }
    if (!this.done && !this.skipping) this.keep(chunk.slice(keepFrom));
  }

  /** The JSON without its events, naming `eventsFile`; undefined (see `failed`) when it could not be done. */
  finish(eventsFile: string): EventsLeftOut | undefined {
    if (!this.failed && !this.done) this.fail('the JSON ended early');
    if (!this.failed && this.skippedAt < 0) this.fail(`no "${this.field}" member`);
    if (this.failed) return undefined;
    const eventCount = this.sawElement ? this.commas + 1 : 0;
    const members = [...this.members];
    members.splice(this.skippedAt, 0, `"eventsFile":${JSON.stringify(eventsFile)}`, `"eventCount":${eventCount}`);
    return { text: `{${members.join(',')}}\n`, eventCount };
  }

  private endMember(tail: string): void {
    if (this.skipping) {
      this.skipping = false;
      return;
    }
    this.keep(tail);
    if (this.current.trim()) this.members.push(this.current.trim());
    this.current = '';
  }

  private keep(text: string): void {
    if (this.skipping || !text) return;
    this.keptBytes += text.length;
    if (this.keptBytes > MAX_KEPT_BYTES) return this.fail(`more than ${MAX_KEPT_BYTES} bytes besides the events`);
    this.current += text;
  }

  private fail(why: string): void {
    this.failed ??= why;
    this.current = '';
    this.members.length = 0;
  }
}
