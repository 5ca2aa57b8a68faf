// Falco rules against events made for real: execsnoop, opensnoop and tcplife
// run together on the real kernel while this test reads a sensitive file
// with an unexpected program, has a server-named process spawn a shell,
// writes below /etc and connects out to a port outside an allowed list;
// beside each, a near miss that must not match (an allowed reader, a shell
// from an ordinary parent, a write below /tmp, a connect to an allowed port).
import { execFile as execFileCb } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execsnoop } from '../../src/captures/execsnoop/index.js';
import { opensnoop } from '../../src/captures/opensnoop/index.js';
import { tcplife } from '../../src/captures/tcplife/index.js';
import type { CaptureResult } from '../../src/captures/capture.js';
import { analyzeNodeWithRules, type FalcoNodeResult } from '../../src/falco/analyze-node.js';
import { liveHostInfo } from '../../src/falco/host-info.js';
import { loadRules } from '../../src/falco/load-rules.js';
import { FAILURE_ONLY_TYPES, PRODUCED_TYPES } from '../../src/falco/sources/index.js';
import { captureAround } from '../helpers/capture-around.js';
import { bpfHandlesOf, kernelSkipReason } from '../helpers/kernel.js';
import { createTestNetwork, type TestNetwork } from '../helpers/netns.js';

const execFile = promisify(execFileCb);
const skip = kernelSkipReason();
const BAD_PORT = 4444;
const GOOD_PORT = 8443;

const rules = (dir: string) => `
- required_engine_version: 0.31.0
- macro: open_write
  condition: (evt.type in (open,openat,openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0)
- macro: open_read
  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)
- macro: spawned_process
  condition: (evt.type in (execve, execveat) and evt.dir=<)
- list: rfc_1918_addresses
  items: ['"10.0.0.0/8"', '"172.16.0.0/12"', '"192.168.0.0/16"']
- macro: outbound
  condition: >
    (((evt.type = connect and evt.dir=<) or
      (evt.type in (sendto,sendmsg) and evt.dir=< and
       fd.l4proto != tcp and fd.connected=false and fd.name_changed=true)) and
     (fd.typechar = 4 or fd.typechar = 6) and
     (fd.ip != "0.0.0.0" and fd.net != "127.0.0.0/8" and not fd.snet in (rfc_1918_addresses)) and
     (evt.rawres >= 0 or evt.res = EINPROGRESS))
- list: shell_binaries
  items: [ash, bash, csh, ksh, sh, tcsh, zsh, dash]
- macro: shell_procs
  condition: proc.name in (shell_binaries)
- list: http_server_binaries
  items: [nginx, httpd, apache2]
- list: sensitive_file_names
  items: [/etc/shadow, "${dir}/vault.key"]
- macro: sensitive_files
  condition: fd.name in (sensitive_file_names)
- list: package_mgmt_binaries
  items: [dpkg, apt, apt-get]
- list: allowed_outbound_ports
  items: [22, 53, 80, 443]

- rule: Read sensitive file untrusted
  desc: a sensitive file read by a program that should not
  condition: open_read and sensitive_files and proc.pid != ${process.pid}
  output: Sensitive file opened for reading by non-trusted program (file=%fd.name process=%proc.name pid=%proc.pid parent=%proc.pname gparent=%proc.aname[2] user=%user.name uid=%user.uid)
  priority: WARNING
  tags: [filesystem, mitre_credential_access]
  exceptions:
    - name: trusted_readers
      fields: [proc.name, fd.name]
      comps: [=, in]
      values:
        - [trusted-reader, [sensitive_file_names]]

- rule: Shell spawned by a server process
  desc: a web server started a shell
  condition: spawned_process and shell_procs and proc.pname in (http_server_binaries, fake-httpd)
  output: Shell spawned by server (shell=%proc.name cmdline=%proc.cmdline parent=%proc.pname ppid=%proc.ppid gparent_pid=%proc.apid[2] exe=%proc.exepath)
  priority: CRITICAL
  tags: [process, mitre_execution]

- rule: Write below etc
  desc: a file below /etc opened for writing
  condition: open_write and fd.name startswith /etc/ and fd.name contains sherlock-falco-
  output: File below /etc opened for writing (file=%fd.name process=%proc.name flags=%evt.arg.flags)
  priority: ERROR
  tags: [filesystem]

- rule: Write below etc
  condition: and not proc.name in (package_mgmt_binaries)
  append: true

- rule: Unexpected outbound port
  desc: an outbound connect to a port outside the allowed list
  condition: outbound and not fd.sport in (allowed_outbound_ports) and fd.sport in (${BAD_PORT}, ${GOOD_PORT}) and proc.pid = ${process.pid}
  output: Outbound connection to unexpected port (connection=%fd.name sip=%fd.sip sport=%fd.sport process=%proc.name)
  priority: NOTICE
  tags: [network]

- list: allowed_outbound_ports
  items: [${GOOD_PORT}]
  append: true

- rule: Unavailable
  desc: needs a field Sherlock cannot fill
  condition: spawned_process and k8s.ns.name = default
  output: "%k8s.pod.name"
  priority: NOTICE
`;

function exchange(host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => socket.destroy(new Error('exchange timed out')), 10_000);
    socket.once('connect', () => socket.end('hello'));
    socket.on('data', () => {});
    socket.once('error', (err) => (clearTimeout(timer), reject(err)));
    socket.once('close', () => (clearTimeout(timer), resolve()));
  });
}

describe.skipIf(skip)(`Falco rules over real captures${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let dir = '';
  let etcFile = '';
  let net: TestNetwork | undefined;
  let falco: FalcoNodeResult;
  const pids: Record<string, number> = {};

  beforeAll(async () => {
    dir = mkdtempSync('/tmp/sherlock-falco-');
    etcFile = `/etc/sherlock-falco-${process.pid}.conf`;
    writeFileSync(join(dir, 'vault.key'), 'secret\n');
    for (const [name, from] of [
      ['secret-peek', '/bin/cat'],
      ['trusted-reader', '/bin/cat'],
      ['fake-httpd', '/bin/bash'],
      ['writer', '/usr/bin/touch'],
    ] as const)
      copyFileSync(from, join(dir, name));
    net = createTestNetwork();
    await net.listen(BAD_PORT, { sendBytes: 10 });
    await net.listen(GOOD_PORT, { sendBytes: 10 });
    const results: CaptureResult[] = [];
    const run = (file: string, args: string[]) => {
      const child = execFile(file, args);
      return child.then(() => child.child.pid!);
    };
    const doAll = async () => {
      pids.peek = await run(join(dir, 'secret-peek'), [join(dir, 'vault.key')]);
      pids.trusted = await run(join(dir, 'trusted-reader'), [join(dir, 'vault.key')]);
      // `; exit 0` keeps bash from exec'ing sh in place: sh is the server's child.
      pids.httpd = await run(join(dir, 'fake-httpd'), ['-c', 'sh -c "exit 0"; exit 0']);
      pids.plainShell = await run('/bin/sh', ['-c', 'exit 0']);
      pids.etcWriter = await run(join(dir, 'writer'), [etcFile]);
      pids.tmpWriter = await run(join(dir, 'writer'), [join(dir, 'not-etc.conf')]);
      await exchange(net!.peerAddress, BAD_PORT);
      await exchange(net!.peerAddress, GOOD_PORT);
    };
    const exec = await captureAround(
      execsnoop,
      async () => {
        const open = await captureAround(
          opensnoop,
          async () => {
            const tcp = await captureAround(tcplife, doAll, { settleMs: 200 });
            results.push(tcp.result);
          },
          { settleMs: 100 },
        );
        results.push(open.result);
      },
      { settleMs: 100 },
    );
    results.push(exec.result);
    const loaded = loadRules([{ path: 'test-rules.yaml', text: rules(dir) }], PRODUCED_TYPES, FAILURE_ONLY_TYPES);
    expect(loaded.errors).toEqual([]);
    falco = analyzeNodeWithRules(loaded, results, 'test-node', liveHostInfo(hostname()));
  }, 120_000);

  afterAll(() => {
    rmSync(etcFile, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
    net?.destroy();
    expect(bpfHandlesOf()).toEqual({ programIds: [], links: 0, maps: 0 });
  });

  const alertsOf = (rule: string) => falco.alerts.filter((a) => a.rule === rule);

  it('alerts on a sensitive file read by an unexpected program, not by the excepted one', () => {
    const alerts = alertsOf('Read sensitive file untrusted');
    expect(alerts.map((a) => a.output_fields['proc.pid'])).toEqual([pids.peek]);
    expect(alerts[0]!.output_fields).toMatchObject({
      'fd.name': join(dir, 'vault.key'),
      'proc.name': 'secret-peek',
      'proc.pname': 'node',
      'user.uid': 0,
      'user.name': 'root',
    });
    expect(alerts[0]!.output).toMatch(
      /: Warning Sensitive file opened for reading by non-trusted program \(file=\/tmp\/sherlock-falco-\w+\/vault.key process=secret-peek/,
    );
  });

  it('alerts on a shell spawned by a server process, with its ancestry, and not on a shell from an ordinary parent', () => {
    const alerts = alertsOf('Shell spawned by a server process');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.output_fields).toMatchObject({
      'proc.name': 'sh',
      'proc.pname': 'fake-httpd',
      'proc.ppid': pids.httpd,
      'proc.apid[2]': process.pid,
      'proc.exepath': expect.stringMatching(/\/sh$/),
    });
    expect(alerts[0]!.output_fields['proc.cmdline']).toBe('sh -c exit 0');
    expect(falco.alerts.some((a) => a.output_fields['proc.ppid'] === process.pid && a.output_fields['proc.name'] === 'sh')).toBe(false);
  });

  it('alerts on a write below /etc (an appended condition), not below /tmp', () => {
    const alerts = alertsOf('Write below etc');
    expect(alerts.map((a) => a.output_fields['fd.name'])).toEqual([etcFile]);
    expect(alerts[0]!.output_fields['evt.arg.flags']).toMatch(/O_WRONLY.*O_CREAT/);
    expect(falco.alerts.some((a) => String(a.output_fields['fd.name']).endsWith('not-etc.conf'))).toBe(false);
  });

  it('alerts on an outbound connect to a port outside the list (appended to), not to an allowed one', () => {
    const alerts = alertsOf('Unexpected outbound port');
    expect(alerts.map((a) => a.output_fields['fd.sport'])).toEqual([BAD_PORT]);
    expect(alerts[0]!.output_fields).toMatchObject({ 'fd.sip': net!.peerAddress });
  });

  it('makes one finding per rule with Falco priority as severity, and Falco JSON alerts', () => {
    const byRule = new Map(falco.findings.map((f) => [f.evidence.rule, f]));
    expect(byRule.get('Shell spawned by a server process')).toMatchObject({ severity: 'critical', file: 'nodes/test-node/falco-alerts.ndjson' });
    expect(byRule.get('Write below etc')).toMatchObject({ severity: 'critical' });
    expect(byRule.get('Read sensitive file untrusted')).toMatchObject({ severity: 'warning', capture: 'opensnoop' });
    expect(byRule.get('Unexpected outbound port')).toMatchObject({ severity: 'warning', capture: 'tcplife' });
    expect(byRule.get('Read sensitive file untrusted')!.title).toMatch(/^Read sensitive file untrusted: Sensitive file opened/);
    for (const a of falco.alerts) {
      expect(Object.keys(a).sort()).toEqual(['hostname', 'output', 'output_fields', 'priority', 'rule', 'source', 'tags', 'time']);
      expect(a.hostname).toBe(hostname());
      expect(Number.isNaN(Date.parse(a.time))).toBe(false);
    }
    expect(falco.summary).toMatchObject({
      loaded: 4,
      notLoaded: [{ rule: 'Unavailable', state: 'disabled', reason: 'field k8s.ns.name is not available' }],
      alertsFile: 'falco-alerts.ndjson',
    });
  });
});
