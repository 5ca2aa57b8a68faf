// The well-formedness checker the flame graph tests rely on must itself reject
// what a real XML parser rejects.
import { describe, expect, it } from 'vitest';
import { checkWellFormed } from './xml.js';

describe('XML well-formedness checker', () => {
  it('accepts a well-formed document with declaration, CDATA, entities, self-closing tags', () => {
    const els = checkWellFormed(
      '<?xml version="1.0"?>\n<svg a="1" b=\'x &amp; &#60;\'><g><rect/><text>a &lt; b &#x263a;</text></g><script><![CDATA[if (a < b && c) {}]]></script></svg>\n',
    );
    expect(els.map((e) => e.name)).toEqual(['svg', 'g', 'rect', 'text', 'script']);
    expect(els[0]?.attributes.get('b')).toBe('x & <');
  });

  it.each([
    ['raw ampersand', '<a>x & y</a>'],
    ['unknown entity', '<a>&nbsp;</a>'],
    ['raw < in attribute', '<a b="<"/>'],
    ['mismatched tags', '<a><b></a></b>'],
    ['unclosed', '<a><b></b>'],
    ['two roots', '<a/><b/>'],
    ['unquoted attribute', '<a b=1/>'],
    ['duplicate attribute', '<a b="1" b="2"/>'],
    ['control character', '<a>\u0001</a>'],
    ['lone surrogate', '<a>\ud800</a>'],
    ['text outside root', 'x<a/>'],
    ['"]]>" in text', '<a>]]></a>'],
  ])('rejects %s', (_, xml) => {
    expect(() => checkWellFormed(xml)).toThrow();
  });
});
