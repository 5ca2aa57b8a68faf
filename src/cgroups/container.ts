// What a cgroup path says about the process in it: the container runtime and
// container id, the Kubernetes pod UID, the systemd unit. The runtimes name
// their cgroups in a few known shapes, under cgroupfs or the systemd driver,
// in cgroup v1 and v2 alike:
//   docker      /docker/<id>                      /system.slice/docker-<id>.scope
//   containerd  /kubepods/burstable/pod<uid>/<id> /kubepods.slice/.../cri-containerd-<id>.scope
//   cri-o       /kubepods/.../pod<uid>/crio-<id>  /kubepods.slice/.../crio-<id>.scope
//   podman      /machine.slice/libpod-<id>.scope  /libpod_parent/libpod-<id>
// A process on the host itself has no container: Falco calls that "host".

export type ContainerRuntime = 'docker' | 'containerd' | 'cri-o' | 'podman';

export interface CgroupIdentity {
  /** The cgroup path as the kernel shows it (/proc/PID/cgroup). */
  cgroup: string;
  /** 64 hex digits, or "host" for a process outside any container. */
  containerId: string;
  runtime?: ContainerRuntime;
  /** The Kubernetes pod's UID, dashes restored. */
  podUid?: string;
  /** The innermost systemd unit (service or scope) the path names. */
  unit?: string;
}

const ID = '([0-9a-f]{64})';
const CONTAINER_SHAPES: { runtime: ContainerRuntime; re: RegExp }[] = [
  { runtime: 'containerd', re: new RegExp(`^cri-containerd-${ID}\\.scope$`) },
  { runtime: 'cri-o', re: new RegExp(`^crio-(?:conmon-)?${ID}(?:\\.scope)?$`) },
  { runtime: 'docker', re: new RegExp(`^docker-${ID}\\.scope$`) },
  { runtime: 'podman', re: new RegExp(`^libpod-(?:conmon-)?${ID}(?:\\.scope)?$`) },
];
// kubepods-burstable-pod0f1e..._2c3d.slice (systemd driver: dashes became underscores) or pod0f1e-...-2c3d (cgroupfs).
const POD = /^(?:kubepods(?:-\w+)*-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;
const UNIT = /^[\w@.:\\-]+\.(service|scope)$/;

export function identifyCgroup(cgroup: string): CgroupIdentity {
  const parts = cgroup.split('/').filter(Boolean);
  const identity: CgroupIdentity = { cgroup, containerId: 'host' };
  parts.forEach((part, i) => {
    const pod = POD.exec(part);
    if (pod) identity.podUid = pod[1]!.replace(/_/g, '-');
    for (const { runtime, re } of CONTAINER_SHAPES) {
      const m = re.exec(part);
      if (m) Object.assign(identity, { containerId: m[1]!, runtime });
    }
    if (/^[0-9a-f]{64}$/.test(part)) {
      // A bare id: docker's cgroupfs driver (/docker/<id>) or a kubelet pod's container under cgroupfs.
      const parent = parts[i - 1] ?? '';
      identity.containerId = part;
      identity.runtime = parent === 'docker' ? 'docker' : POD.test(parent) ? 'containerd' : identity.runtime;
    }
    if (UNIT.test(part)) identity.unit = part;
  });
  return identity;
}

/** Does a container id (or its ≥12-digit prefix, as `docker ps` shows it) name this identity's container? */
export function matchesContainer(identity: CgroupIdentity, id: string): boolean {
  return identity.containerId !== 'host' && id.length >= 12 && identity.containerId.startsWith(id.toLowerCase());
}

/** Who a cgroup is, for a sentence: its systemd unit, else its container (runtime:short id) or pod, else its last element. */
export function cgroupService(path: string): { service: string; containerId?: string; podUid?: string } {
  const id = identifyCgroup(path);
  const container = id.containerId !== 'host' ? id.containerId : undefined;
  const service =
    id.unit ??
    (container ? `${id.runtime ?? 'container'}:${container.slice(0, 12)}` : id.podUid ? `pod ${id.podUid}` : path === '/' ? '/' : path.split('/').at(-1)!);
  return { service, ...(container ? { containerId: container } : {}), ...(id.podUid ? { podUid: id.podUid } : {}) };
}
