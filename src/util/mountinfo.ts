// /proc/PID/mountinfo, a line per mount:
//   id parent major:minor root mountpoint options [optional...] - fstype source superoptions
// Read by the cgroup hierarchies, a file's filesystem (syscallerrors) and the
// filesystems that fill (fsfill, this namespace's and other ones').

export interface MountInfo {
  /** major:minor of the filesystem: one per instance, whatever it is mounted on. */
  device: string;
  mountPoint: string;
  fstype: string;
  source: string;
  superOptions: string;
}

/**
 * The mounts a path reaches: of several on one mount point, the one mounted last (listed last), which covers
 * the others. statfs on the path reads it, whichever of them was asked for.
 */
export function visibleMounts(mounts: MountInfo[]): MountInfo[] {
  const top = new Map<string, MountInfo>();
  for (const m of mounts) {
    top.delete(m.mountPoint); // re-added at its own place in the order
    top.set(m.mountPoint, m);
  }
  return [...top.values()];
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
export const unescapeMount = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Its lines with a mount point, paths unescaped; malformed lines are left out. */
export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || post === undefined) continue;
    const fields = pre.split(' ');
    const mountPoint = fields[4];
    if (!mountPoint) continue;
    const [fstype = '', source = '', superOptions = ''] = post.split(' ');
    mounts.push({ device: fields[2] ?? '', mountPoint: unescapeMount(mountPoint), fstype, source: unescapeMount(source), superOptions });
  }
  return mounts;
}
