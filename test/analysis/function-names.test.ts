// Function names as findings write them: demangled C++ and Rust names lose
// their return type, template arguments and parameters; others stay whole.
import { describe, expect, it } from 'vitest';
import { functionLabel, stackText } from '../../src/analysis/stack-frames.js';
import { shortFunction } from '../../src/format/index.js';

describe('shortFunction', () => {
  it.each([
    [
      'heap::base::SlotCallbackResult v8::internal::Scavenger::ScavengeObject<v8::internal::FullHeapObjectSlot>(v8::internal::FullHeapObjectSlot, v8::internal::HeapObject)',
      'v8::internal::Scavenger::ScavengeObject',
    ],
    [
      'v8::internal::LocalHeap::LocalHeap(v8::internal::Heap*, std::unique_ptr<v8::internal::PersistentHandles, std::default_delete<v8::internal::PersistentHandles> >)',
      'v8::internal::LocalHeap::LocalHeap',
    ],
    ['void std::sort<int*>(int*, int*)', 'std::sort'],
    ['std::vector<int, std::allocator<int> >::operator[](unsigned long)', 'std::vector::operator[]'],
    ['Foo::operator()(int) const', 'Foo::operator()'],
    ['bool operator<<(std::ostream&, Foo const&)', 'operator<<'],
    ['(anonymous namespace)::worker(int)', '(anonymous namespace)::worker'],
    ['core::ptr::drop_in_place<alloc::vec::Vec<u8>>', 'core::ptr::drop_in_place'],
    ['crc32', 'crc32'],
    ['[JIT code]', '[JIT code]'],
    ['[stopped: address outside every mapping]', '[stopped: address outside every mapping]'],
    ['libc.so.6+0x1234', 'libc.so.6+0x1234'],
  ])('%s → %s', (name, short) => {
    expect(shortFunction(name)).toBe(short);
  });

  it('titles get the short name, evidence stacks the whole one', () => {
    const frame = { name: 'void std::sort<int*>(int*, int*)', kind: 'user', module: 'app' };
    expect(functionLabel(frame)).toBe('std::sort (app)');
    expect(stackText([frame])).toEqual(['void std::sort<int*>(int*, int*) (app)']);
  });
});
