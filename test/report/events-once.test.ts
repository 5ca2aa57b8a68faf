// The scanner that leaves a capture's events out of its bundle JSON (they are
// in its NDJSON): fed in chunks of every size, it keeps every other member as
// it was, counts the events, and gives up on what it does not understand.
import { describe, expect, it } from 'vitest';
import { EventsStripper, MAX_KEPT_BYTES } from '../../src/report/events-once.js';

function strip(text: string, chunk: number) {
  const s = new EventsStripper();
  for (let i = 0; i < text.length; i += chunk) s.push(text.slice(i, i + chunk));
  return { left: s.finish('execsnoop.ndjson'), failed: s.failed };
}

describe('EventsStripper', () => {
  const result = {
    capture: 'execsnoop',
    kind: 'events',
    events: [{ argv: ['sh', '-c', 'echo "x,]}\\" {['] }, { nested: [1, 2, { c: ',' }] }, 'a string, with a comma', null],
    tail: { events: [1, 2] },
    dropped: 0,
    note: 'ünïcode, "quoted" ]',
  };
  const text = JSON.stringify(result);

  it.each([1, 2, 3, 7, 64, text.length])('leaves the top-level events out, counted, in chunks of %i characters', (chunk) => {
    const { left, failed } = strip(text, chunk);
    expect(failed).toBeUndefined();
    expect(left!.eventCount).toBe(4);
    const { events, ...rest } = result;
    void events;
    // Same members in the same order, the file named where the events were.
    expect(Object.keys(JSON.parse(left!.text))).toEqual(['capture', 'kind', 'eventsFile', 'eventCount', 'tail', 'dropped', 'note']);
    expect(JSON.parse(left!.text)).toEqual({ ...rest, eventsFile: 'execsnoop.ndjson', eventCount: 4 });
  });

  it('counts an empty list as none and handles events as the last member', () => {
    expect(strip('{"a":1,"events":[]}', 5).left).toEqual({ text: '{"a":1,"eventsFile":"execsnoop.ndjson","eventCount":0}\n', eventCount: 0 });
    expect(JSON.parse(strip('{"events":[{"x":1},{"x":2}]}', 4).left!.text)).toEqual({ eventsFile: 'execsnoop.ndjson', eventCount: 2 });
  });

  it('gives up, saying why, on what is not an object with events, or too big besides them', () => {
    expect(strip('[1,2]', 3).failed).toMatch(/not a JSON object/);
    expect(strip('{"a":1}', 3).failed).toMatch(/no "events" member/);
    expect(strip('{"events":[1,2', 3).failed).toMatch(/ended early/);
    expect(strip('{"a":1} x', 3).failed).toMatch(/after the top-level object/);
    const big = JSON.stringify({ events: [], other: 'x'.repeat(MAX_KEPT_BYTES) });
    expect(strip(big, 65536).failed).toMatch(/more than/);
  });
});
