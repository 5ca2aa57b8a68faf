// Numbers named by their field, for people: the unit comes from the name
// (…Us, …Ms, …Bytes, …Pct, …Share, a column's "P99 µs"), identifiers stay
// as they are, and the raw value is kept for the tooltip (for a plain count,
// when the text differs from it).
import { describe, expect, it } from 'vitest';
import { humanNumber, humanValue, unitOfField } from '../../src/format/human.js';

describe('humanNumber', () => {
  it.each([
    ['latencyUs', 300000, '300 ms', '300,000 µs'],
    ['lowUs', 128, '128 µs', '128 µs'],
    ['highUs', 1536, '1.54 ms', '1,536 µs'],
    ['p50Ms', 1.26, '1.26 ms', '1.26 ms'],
    ['lifetimeMs', 154.6, '155 ms', '154.6 ms'],
    ['offcpuNs', 2_500_000, '2.5 ms', '2,500,000 ns'],
    ['bytes', 3_500_000, '3.3 MiB', '3,500,000 bytes'],
    ['R_Kb', 30310, '29.6 MiB', '30,310 KiB'],
    ['pctOfProfile', 1.501, '1.5%', '1.501 %'],
    ['slowShare', 0.045, '4.5%', '0.045 (share)'],
    ['execs', 5000, '5,000', '5000'],
    ['perSecond', 499.85, '500', '499.85'],
    ['cpus', 3.44, '3.44', undefined],
    ['P99 µs', 2048, '2.05 ms', '2,048 µs'],
    ['LAT(ms)', 1500, '1.5 s', '1,500 ms'],
    ['WAIT ms', 12, '12 ms', '12 ms'],
    ['TX_KB', 2048, '2 MiB', '2,048 KiB'],
  ])('%s %s → %s (raw %s)', (field, value, text, raw) => {
    const human = humanNumber(field, value);
    expect(human.text).toBe(text);
    // The raw value on hover: always for a unit, for a count when the text is not it.
    expect(human.raw).toBe(raw);
  });

  it('leaves identifiers as they are: no separators, no unit', () => {
    for (const field of ['pid', 'ppid', 'PID', 'LAST PID', 'tid', 'uid', 'cgroupId', 'errno', 'error', 'port', 'dport', 'cpu', 'exitCode', 'fd', 'RET'])
      expect(humanNumber(field, 123456), field).toEqual({ text: '123456' });
  });

  it('says what it cannot measure', () => {
    expect(humanNumber('latencyUs', Number.NaN)).toEqual({ text: 'NaN' });
    expect(unitOfField('status')).toBe('count'); // "…us" in lower case is a word, not microseconds
    expect(unitOfField('items')).toBe('count');
  });
});

describe('humanValue', () => {
  it('formats lists and flat objects of numbers, keeps strings, shortens the rest', () => {
    expect(humanValue('slowRangeMs', [100, 524.288])).toEqual({ text: '100 ms – 524 ms', raw: '100 – 524.288' });
    expect(humanValue('states', { ESTABLISHED: 62, SYN_SENT: 30000 })).toEqual({
      text: 'ESTABLISHED 62 · SYN_SENT 30,000',
      raw: '{"ESTABLISHED":62,"SYN_SENT":30000}',
    });
    expect(humanValue('waitUs', { futex: 1500 }).text).toBe('futex 1.5 ms');
    expect(humanValue('comm', 'checkout')).toEqual({ text: 'checkout' });
    expect(humanValue('x', null)).toEqual({ text: '' });
    expect(humanValue('flags', ['O_RDONLY', 'O_CLOEXEC'])).toEqual({ text: 'O_RDONLY O_CLOEXEC' });
    const long = humanValue('nested', { a: [{ b: 'x'.repeat(400) }] });
    expect(long.text).toHaveLength(300);
    expect(long.raw!.startsWith('{"a":')).toBe(true);
  });
});
