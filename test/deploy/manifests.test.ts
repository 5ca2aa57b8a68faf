// The deploy files are checked by the tools that would refuse them: the
// Kubernetes manifests against Kubernetes' own schemas (kubernetes-models),
// the systemd units by `systemd-analyze verify`. Each check is shown to fail
// on a broken copy, so a pass means something.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src/util/paths.js';

const deploy = join(projectRoot, 'deploy');
const MODELS: Record<string, new (doc: any) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
};

type Doc = Record<string, any>;
const manifests = (): { file: string; doc: Doc }[] =>
  readdirSync(join(deploy, 'kubernetes'))
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(readFileSync(join(deploy, 'kubernetes', file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Doc })));

/** The schema's complaint about a manifest, or undefined when it is valid. */
function problem(doc: Doc): string | undefined {
  const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
  if (!Model) return `no schema for ${doc.apiVersion} ${doc.kind}`;
  try {
    new Model(doc).validate();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const byKind = (kind: string) => manifests().find((m) => m.doc.kind === kind)!.doc;

describe('Kubernetes manifests', () => {
  it('every document is valid against the Kubernetes schema of its kind', () => {
    const docs = manifests();
    expect(docs.length).toBeGreaterThanOrEqual(8);
    expect(docs.map(({ file, doc }) => [file, doc.kind, problem(doc)]).filter(([, , p]) => p)).toEqual([]);
  });

  it('a broken manifest is refused (the check can fail)', () => {
    const worker = structuredClone(byKind('DaemonSet'));
    worker.spec.template.spec.containers[0].resources.limits.memory = { not: 'a quantity' };
    expect(problem(worker)).toMatch(/memory/);
  });

  it('the worker: one per node, host PID, tracing capabilities and no privileged container', () => {
    const spec = byKind('DaemonSet').spec.template.spec;
    expect(spec.hostPID).toBe(true);
    const ctx = spec.containers[0].securityContext;
    expect(ctx.privileged).toBe(false);
    expect(ctx.capabilities.drop).toEqual(['ALL']);
    expect(ctx.capabilities.add).toEqual(expect.arrayContaining(['BPF', 'PERFMON', 'SYS_RESOURCE']));
    const mounts = spec.containers[0].volumeMounts.map((m: Doc) => m.mountPath);
    expect(mounts).toEqual(expect.arrayContaining(['/sys/kernel/btf', '/sys/kernel/tracing', '/sys/fs/cgroup', '/dev/kmsg']));
    expect(ctx.capabilities.add).toContain('SYSLOG'); // the kernel log where kernel.dmesg_restrict is 1
    expect(spec.containers[0].env.find((e: Doc) => e.name === 'SHERLOCK_NODE').valueFrom.fieldRef.fieldPath).toBe('spec.nodeName');
  });

  it('the API: non-root, probes on /healthz, secrets from a Secret', () => {
    const spec = byKind('Deployment').spec.template.spec;
    expect(spec.securityContext.runAsNonRoot).toBe(true);
    const c = spec.containers[0];
    expect(c.readinessProbe.httpGet.path).toBe('/healthz');
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.env.find((e: Doc) => e.name === 'REDIS_URL').valueFrom.secretKeyRef.name).toBe('sherlock-credentials');
  });
});

const systemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

describe.skipIf(!systemdAnalyze)(`systemd units${systemdAnalyze ? '' : ' (skipped: systemd-analyze is not installed)'}`, () => {
  const units = ['sherlock-api.service', 'sherlock-worker.service'];
  const verify = (dir: string, unit: string) => spawnSync('systemd-analyze', ['verify', join(dir, unit)], { encoding: 'utf8' });

  it('pass systemd-analyze verify with no warnings', () => {
    for (const unit of units) {
      const result = verify(join(deploy, 'systemd'), unit);
      expect({ unit, status: result.status, stderr: result.stderr.trim() }).toEqual({ unit, status: 0, stderr: '' });
    }
  });

  it('a broken unit is refused (the check can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sherlock-units-'));
    try {
      const text = readFileSync(join(deploy, 'systemd', 'sherlock-worker.service'), 'utf8').replace('ExecStart=/usr/bin/node', 'ExecStart=/nonexistent/node');
      writeFileSync(join(dir, 'sherlock-worker.service'), text);
      const result = verify(dir, 'sherlock-worker.service');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(/nonexistent/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the worker keeps only the tracing capabilities and cannot gain more', () => {
    const text = readFileSync(join(deploy, 'systemd', 'sherlock-worker.service'), 'utf8');
    const caps = /^CapabilityBoundingSet=(.*)$/m.exec(text)?.[1]?.split(/\s+/) ?? [];
    expect(caps.sort()).toEqual(['CAP_BPF', 'CAP_DAC_READ_SEARCH', 'CAP_PERFMON', 'CAP_SYSLOG', 'CAP_SYS_PTRACE', 'CAP_SYS_RESOURCE']);
    expect(text).toMatch(/^NoNewPrivileges=yes$/m);
  });
});
