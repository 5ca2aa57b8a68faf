// A strict XML 1.0 well-formedness check, small enough to trust by reading:
// prolog (declaration, comments, PIs), exactly one root element, balanced and
// correctly nested tags, quoted attributes without '<', unique attribute names,
// only the five predefined entities and character references, no raw '&' or
// '<' in text, CDATA sections, and no characters XML forbids. Returns the
// element names in document order (for counting) or throws with the position.

const NAME = /^[A-Za-z_:][-A-Za-z0-9_.:]*/;
const REF = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/;
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

export interface XmlElement {
  name: string;
  attributes: Map<string, string>;
}

function decode(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

export function checkWellFormed(xml: string): XmlElement[] {
  const bad = FORBIDDEN.exec(xml);
  if (bad) throw new Error(`forbidden character U+${bad[0].charCodeAt(0).toString(16)} at ${bad.index}`);
  const elements: XmlElement[] = [];
  const open: string[] = [];
  let rootSeen = false;
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`${why} at offset ${i}: ${JSON.stringify(xml.slice(Math.max(0, i - 40), i + 40))}`);
  };
  const checkText = (text: string) => {
    for (let k = text.indexOf('&'); k >= 0; k = text.indexOf('&', k + 1)) {
      if (!REF.test(text.slice(k))) fail('raw "&" in text');
    }
    if (text.includes(']]>')) fail('"]]>" in text');
  };

  if (xml.startsWith('<?xml')) {
    const end = xml.indexOf('?>');
    if (end < 0) fail('unterminated XML declaration');
    i = end + 2;
  }
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt < 0 ? xml.length : lt);
    if (open.length === 0 && text.trim() !== '') fail('text outside the root element');
    checkText(text);
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) fail('unterminated comment');
      if (xml.slice(i + 4, end).includes('--')) fail('"--" inside a comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (open.length === 0) fail('CDATA outside the root element');
      const end = xml.indexOf(']]>', i);
      if (end < 0) fail('unterminated CDATA');
      i = end + 3;
    } else if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i);
      if (end < 0) fail('unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!', i)) {
      fail('DOCTYPE or other declarations are not expected');
    } else if (xml.startsWith('</', i)) {
      const name = NAME.exec(xml.slice(i + 2))?.[0];
      if (!name) fail('bad end tag');
      const expected = open.pop();
      if (expected !== name) fail(`end tag </${name}> closes <${expected ?? 'nothing'}>`);
      i += 2 + (name as string).length;
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml[i] !== '>') fail('bad end tag');
      i++;
    } else {
      const name = NAME.exec(xml.slice(i + 1))?.[0];
      if (!name) fail('bad start tag');
      if (open.length === 0) {
        if (rootSeen) fail('a second root element');
        rootSeen = true;
      }
      i += 1 + (name as string).length;
      const attributes = new Map<string, string>();
      for (;;) {
        const ws = /^\s*/.exec(xml.slice(i))?.[0].length ?? 0;
        i += ws;
        if (xml.startsWith('/>', i)) {
          i += 2;
          elements.push({ name: name as string, attributes });
          break;
        }
        if (xml[i] === '>') {
          i++;
          elements.push({ name: name as string, attributes });
          open.push(name as string);
          break;
        }
        if (ws === 0) fail('no space before an attribute');
        const attr = NAME.exec(xml.slice(i))?.[0];
        if (!attr) fail('bad attribute name');
        if (attributes.has(attr as string)) fail(`duplicate attribute ${attr}`);
        i += (attr as string).length;
        const eq = /^\s*=\s*/.exec(xml.slice(i))?.[0];
        if (!eq) fail('attribute without "="');
        i += (eq as string).length;
        const quote = xml[i];
        if (quote !== '"' && quote !== "'") fail('unquoted attribute value');
        const end = xml.indexOf(quote as string, i + 1);
        if (end < 0) fail('unterminated attribute value');
        const value = xml.slice(i + 1, end);
        if (value.includes('<')) fail('"<" in an attribute value');
        for (let k = value.indexOf('&'); k >= 0; k = value.indexOf('&', k + 1)) {
          if (!REF.test(value.slice(k))) fail('raw "&" in an attribute value');
        }
        attributes.set(attr as string, decode(value));
        i = end + 1;
      }
    }
  }
  if (open.length) throw new Error(`unclosed elements: ${open.join(' > ')}`);
  if (!rootSeen) throw new Error('no root element');
  return elements;
}

/** Text content of every <tag>…</tag> (no nested elements), entities decoded. */
export function textsOf(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}(?:\\s[^>]*)?>([^<]*)</${tag}>`, 'g'))].map((m) => decode(m[1] as string));
}
