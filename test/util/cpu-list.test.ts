// The kernel's CPU list format, both ways, and what is not one.
import { describe, expect, it } from 'vitest';
import { formatCpuList, parseCpuList } from '../../src/util/cpu-list.js';

describe('CPU lists', () => {
  it('reads ranges and single CPUs, and writes them back joined', () => {
    expect(parseCpuList('0-3,6\n')).toEqual([0, 1, 2, 3, 6]);
    expect(parseCpuList('5')).toEqual([5]);
    expect(formatCpuList([6, 0, 1, 2, 3, 3])).toBe('0-3,6');
    expect(formatCpuList([1, 3, 5])).toBe('1,3,5');
    expect(formatCpuList(parseCpuList('0-1,4-7,9'))).toBe('0-1,4-7,9');
  });

  it('a malformed or absurd list is no CPUs', () => {
    for (const text of ['', 'a', '3-1', '0-', '0-99999999', '1,,2']) expect(parseCpuList(text)).toEqual([]);
  });
});
