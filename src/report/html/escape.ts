// HTML text and attribute escaping. Characters no document should hold (NUL
// and the other C0 controls but tab/newline/CR, lone surrogates) are replaced.

// eslint-disable-next-line no-control-regex
const ILLEGAL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const SPECIAL = /[&<>"']/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  return text.replace(ILLEGAL, '\ufffd').replace(SPECIAL, (c) => ENTITY[c] as string);
}

/** Markup that goes inside a raw-text <script> element: it must not close it or open a comment there. */
export function scriptSafe(markup: string): string {
  return markup.replace(/<(\/?script|!--)/gi, '&lt;$1');
}

/** A token usable in an id attribute and getElementById: what names.ts keeps, nothing else. */
export function idToken(text: string): string {
  return text.replace(/[^A-Za-z0-9._~-]/g, '_');
}
