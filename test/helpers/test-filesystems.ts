// Filesystems of a test's own, to fill without touching the host's: a tmpfs,
// and an ext4 filesystem on a loop device over an image file (a disk, full of
// bytes or of inodes). The loop device goes with the unmount.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A filesystem a test made, and how to take it away. */
export interface TestFilesystem {
  mount: string;
  remove(): void;
}

/** A tmpfs of `size` (mount's: "256m") mounted on a new directory. */
export function mountTmpfs(size: string): TestFilesystem {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return {
    mount: dir,
    remove() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Why no ext4 filesystem can be made here, or undefined. */
export function loopExt4SkipReason(): string | undefined {
  try {
    execFileSync('losetup', ['--find'], { stdio: 'pipe' });
    execFileSync('which', ['mkfs.ext4'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'no free loop device or no mkfs.ext4: an ext4 filesystem cannot be made here';
  }
}

/** An ext4 filesystem of `size` (truncate's: "64M") made with mkfs.ext4 `options`, mounted on a new directory. */
export function mountLoopExt4(size: string, options: string[] = []): TestFilesystem {
  const dir = mkdtempSync(join(tmpdir(), 'sherlock-test-ext4-'));
  const image = `${dir}.img`;
  execFileSync('truncate', ['-s', size, image]);
  try {
    execFileSync('mkfs.ext4', ['-q', '-F', ...options, image]);
    execFileSync('mount', ['-o', 'loop', image, dir]);
  } catch (err) {
    rmSync(image, { force: true });
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    mount: dir,
    remove() {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
      rmSync(image, { force: true });
    },
  };
}
