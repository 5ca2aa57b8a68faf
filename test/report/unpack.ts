// Reading a report bundle back: gunzip + tar-stream extract into a map of
// entry name → header and bytes, as any tar tool would see it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { projectRoot } from '../../src/util/paths.js';

export interface UnpackedEntry {
  name: string;
  type: string;
  size: number;
  mode: number;
  data: Buffer;
}

export async function unpack(gz: Buffer | AsyncIterable<Buffer> | NodeJS.ReadableStream): Promise<Map<string, UnpackedEntry>> {
  const extract = tar.extract();
  const entries = new Map<string, UnpackedEntry>();
  const source = Buffer.isBuffer(gz) ? Readable.from([gz]) : Readable.from(gz as AsyncIterable<Buffer>);
  const gunzip = createGunzip();
  source.on('error', (err) => gunzip.destroy(err));
  gunzip.on('error', (err) => extract.destroy(err));
  source.pipe(gunzip).pipe(extract as unknown as NodeJS.WritableStream);
  for await (const entry of extract) {
    const parts: Buffer[] = [];
    for await (const chunk of entry) parts.push(chunk as Buffer);
    const name = entry.header.name;
    if (entries.has(name)) throw new Error(`duplicate entry ${name}`);
    entries.set(name, { name, type: entry.header.type, size: entry.header.size, mode: entry.header.mode, data: Buffer.concat(parts) });
  }
  return entries;
}

/** Where tests keep what people look at afterwards (screenshots, an extracted bundle); gitignored. */
export const artifactsDir = join(projectRoot, 'test-artifacts', 'report');

/** Writes the bundle's files under `dir` (entries are checked to stay inside it first). */
export function extractTo(entries: Map<string, UnpackedEntry>, dir: string): void {
  const base = resolve(dir);
  for (const entry of entries.values()) {
    const target = resolve(base, entry.name);
    if (target !== base && !target.startsWith(base + sep)) throw new Error(`entry ${entry.name} escapes ${base}`);
    if (entry.type === 'directory') mkdirSync(target, { recursive: true });
    else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.data);
    }
  }
}
