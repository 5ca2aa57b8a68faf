// Deleted files still open, read from every process's descriptors on this
// host: on a tmpfs of the test's own, files this process unlinked while
// holding them count (once each, however many descriptors), a file another
// name still links does not, and the text names the largest with its holder.
import { execFileSync } from 'node:child_process';
import { closeSync, linkSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deletedOpenFiles, deletedOpenText, deviceName } from '../../src/captures/deleted-open-files.js';
import { mountTmpfs, type TestFilesystem } from '../helpers/test-filesystems.js';

const KiB = 1024;

describe('deleted files still open', () => {
  let fs: TestFilesystem | undefined;
  const fds: number[] = [];
  afterEach(() => {
    for (const fd of fds.splice(0)) closeSync(fd);
    fs?.remove();
    fs = undefined;
  });

  /** A file of `kib` KiB on the test's tmpfs, open (`opens` times), then unlinked. */
  const heldDeleted = (name: string, kib: number, opens = 1) => {
    const path = join(fs!.mount, name);
    for (let i = 0; i < opens; i++) fds.push(openSync(path, 'a'));
    writeSync(fds.at(-1)!, Buffer.alloc(kib * KiB, 1));
    unlinkSync(path);
    return path;
  };

  it('counts each deleted file once, leaves out one another name still links, largest first with its holder', () => {
    fs = mountTmpfs('8m');
    const device = execFileSync('mountpoint', ['-d', fs.mount], { encoding: 'utf8' }).trim();
    const big = heldDeleted('app.log.1', 512, 2); // two descriptors, one file
    const small = heldDeleted('app.log.2', 128);
    const linked = join(fs.mount, 'kept');
    fds.push(openSync(linked, 'a'));
    writeSync(fds.at(-1)!, Buffer.alloc(256 * KiB, 1));
    linkSync(linked, join(fs.mount, 'kept-too'));
    unlinkSync(linked); // deleted by one name, still linked by another: du sees it

    const held = deletedOpenFiles(new Set([device, '0:0'])).get(device)!;
    expect(held).toEqual({
      bytes: 640 * KiB,
      count: 2,
      files: [
        { path: big, bytes: 512 * KiB, pid: process.pid, comm: expect.any(String), fd: fds[0] },
        { path: small, bytes: 128 * KiB, pid: process.pid, comm: expect.any(String), fd: fds[2] },
      ],
    });
    const comm = held.files[0]!.comm;
    expect(deletedOpenText(held, 8 * 1024 * KiB)).toBe(
      `; 640 KiB of its used space is 2 deleted files still open, which du does not count: the largest ${big}, 512 KiB, ` +
        `held by ${comm} (pid ${process.pid}) as fd ${fds[0]}; empty it with : > /proc/${process.pid}/fd/${fds[0]} or restart ${comm}: ` +
        'the space comes back when its last holder closes it',
    );
    // Under 5% of the filesystem and under 1 GiB: not worth a line.
    expect(deletedOpenText(held, 64 * 1024 * KiB)).toBe('');
  });

  it('names st_dev the way mountinfo does, major:minor', () => {
    expect(deviceName(0x0801n)).toBe('8:1'); // sda1
    expect(deviceName((259n << 8n) | 3n)).toBe('259:3'); // nvme0n1p3
    // Large numbers: glibc's makedev(0x1012, 0x34567) spreads both over the 64 bits.
    expect(deviceName(0x67n | (0x012n << 8n) | (0x34500n << 12n) | (0x1000n << 32n))).toBe(`${0x1012}:${0x34567}`);
  });
});
