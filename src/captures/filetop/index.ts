// filetop: reads, writes and bytes per process and file, like bcc filetop,
// counted in the kernel from the read/write syscall family. Each file's path
// is walked once, when a process first touches it.
import { readFileSync } from 'node:fs';
import { statFields } from '../../util/process-stat.js';
import { RingBufferReader } from '../../libbpf/index.js';
import type { CaptureDefinition, Column } from '../capture.js';
import {
  decodeKey,
  decodePath,
  devName,
  keyId,
  keyLayout,
  kindOfMode,
  lastLayout,
  pathLayout,
  pathOf,
  pendingOf,
  statsLayout,
  sumStats,
  type FileKey,
  type FileKind,
  type FileStats,
  type PathRecord,
} from './decode.js';
import { filetopAnalysis } from './analyze.js';
import { writersByFilesystem, type FilesystemWriters } from './writers.js';
import { filetopSetup } from './setup.js';

export type FiletopParams = typeof filetopSetup.defaults;

export interface FileRow {
  pid: number;
  /** Its parent when it first touched a file (0: gone before it was read): a job's share is told through the script that ran it. */
  ppid: number;
  comm: string;
  /** "/a/b", "socket:[ino]", "pipe:[ino]", or the kernel's name of a pseudo file. */
  path: string;
  kind: FileKind;
  reads: number;
  writes: number;
  readBytes: number;
  writeBytes: number;
  /** The file's identity: device (major:minor) and inode. */
  dev: string;
  inode: string;
}

export interface FiletopData {
  rows: FileRow[];
  /** (process, file) pairs seen; rows keeps the first maxRows by bytes. */
  totalFiles: number;
  /** Who wrote to each filesystem, over every file counted (what a filesystem filling is linked to). */
  writers?: FilesystemWriters[];
}

export const filetop: CaptureDefinition<FiletopParams, FiletopData> = {
  ...filetopSetup,
  summary: 'reads, writes and bytes per process and file (read/write/pread/pwrite/readv/writev families)',
  kind: 'counters',
  analysis: filetopAnalysis,

  records: [keyLayout, statsLayout, lastLayout, pathLayout],

  collect({ object, params }) {
    const reader = new RingBufferReader(object.map('paths'));
    const paths = new Map<string, PathRecord>();
    // A process renames itself (process.title, prctl): every row of a pid shows its latest name.
    const comms = new Map<number, string>();
    const parents = new Map<number, number>();
    const onRecord = (data: Buffer) => {
      const record = decodePath(data);
      if (!record) return;
      paths.set(keyId(record.key), record);
      comms.set(record.key.tgid, record.comm);
      if (!parents.has(record.key.tgid)) parents.set(record.key.tgid, parentOf(record.key.tgid));
    };
    return {
      poll: () => void reader.drain(onRecord),
      finish: () => {
        const map = object.map('files');
        const counted = new Map<string, { key: FileKey; stats: FileStats }>();
        for (const [k, v] of map.entries()) {
          const key = decodeKey(k);
          counted.set(keyId(key), { key, stats: sumStats(map.perCpuValues(v)) });
        }
        // Each CPU's last file: counts not yet moved into the map.
        const last = object.map('last');
        const slot = last.lookup(Buffer.alloc(4));
        for (const [key, pending] of slot ? pendingOf(last.perCpuValues(slot)) : []) {
          const entry = counted.get(keyId(key));
          if (entry) for (const f of ['reads', 'writes', 'readBytes', 'writeBytes'] as const) entry.stats[f] += pending[f];
        }
        const rows: FileRow[] = [];
        for (const { key, stats } of counted.values()) {
          const record = paths.get(keyId(key));
          rows.push({
            pid: key.tgid,
            ppid: parents.get(key.tgid) ?? parentOf(key.tgid),
            comm: comms.get(key.tgid) ?? procComm(key.tgid),
            path: record ? pathOf(record) : `?${devName(key.dev)}:${key.ino}`, // its path record was dropped
            kind: record ? kindOfMode(record.mode) : 'other',
            ...stats,
            dev: devName(key.dev),
            inode: key.ino.toString(),
          });
        }
        const bytes = (r: FileRow) => r.readBytes + r.writeBytes;
        rows.sort((a, b) => bytes(b) - bytes(a) || b.reads + b.writes - (a.reads + a.writes));
        return { rows: rows.slice(0, params.maxRows), totalFiles: rows.length, writers: writersByFilesystem(rows) };
      },
      close: () => reader.close(),
    };
  },

  table: ({ rows }) => ({ columns, rows }),
  count: ({ rows }) => rows.length,
};

function procComm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Field 4 of /proc/PID/stat; 0 when the process is gone. */
const parentOf = (pid: number): number => Number(statFields(pid)?.[1] ?? 0);

const kb = (bytes: number) => (bytes / 1024).toFixed(bytes && bytes < 1024 ? 1 : 0);
const kindLetter: Record<FileKind, string> = { file: 'R', socket: 'S', pipe: 'P', chardev: 'C', other: 'O' };

const columns: Column<FileRow>[] = [
  { header: 'PID', value: (r) => String(r.pid), numeric: true },
  { header: 'COMM', value: (r) => r.comm },
  { header: 'READS', value: (r) => String(r.reads), numeric: true },
  { header: 'WRITES', value: (r) => String(r.writes), numeric: true },
  { header: 'R_Kb', value: (r) => kb(r.readBytes), numeric: true },
  { header: 'W_Kb', value: (r) => kb(r.writeBytes), numeric: true },
  { header: 'T', value: (r) => kindLetter[r.kind] },
  { header: 'FILE', value: (r) => r.path },
];
