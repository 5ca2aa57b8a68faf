// Falco's rule file semantics: several files in order, redefinition,
// append: true, override append/replace, exceptions with tuples, enabled,
// required_engine_version, sources, and fields Sherlock cannot fill.
import { describe, expect, it } from 'vitest';
import { execEvent, fixedHost, openEvent, run } from './fixtures.js';
import { readRuleFile, readWithPositions } from '../../src/falco/rule-file.js';

const base = `
- required_engine_version: 0.31.0
- list: sensitive_file_names
  items: [/etc/shadow, /etc/sudoers]
- list: trusted_readers
  items: [sshd, sudo]
- macro: open_read
  condition: (evt.type in (open,openat,openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0)
- macro: sensitive_files
  condition: fd.name in (sensitive_file_names)
- rule: Read sensitive file untrusted
  desc: a sensitive file read by a program that should not
  condition: open_read and sensitive_files and not proc.name in (trusted_readers)
  output: Sensitive file opened for reading (file=%fd.name process=%proc.name parent=%proc.pname uid=%user.uid)
  priority: WARNING
  tags: [filesystem, mitre_credential_access]
`;

const shadowBy = (comm: string, pid = 100) => openEvent({ pid, comm, path: '/etc/shadow' });

describe('several files in order', () => {
  it('appends list items and macro conditions from a later file (append: true)', () => {
    const later = `
- list: trusted_readers
  items: [backup-agent]
  append: true
- list: sensitive_file_names
  items: [/etc/gshadow]
  override:
    items: append
- macro: sensitive_files
  condition: or fd.name startswith /etc/ssh/
  append: true
`;
    const r = run(
      [base, later],
      [
        shadowBy('backup-agent'),
        shadowBy('cat', 101),
        openEvent({ pid: 102, comm: 'cat', path: '/etc/gshadow' }),
        openEvent({ pid: 103, comm: 'cat', path: '/etc/ssh/ssh_host_rsa_key' }),
      ],
    );
    expect(r.loaded.errors).toEqual([]);
    expect(r.alerts.map((a) => a.output_fields['fd.name'])).toEqual(['/etc/shadow', '/etc/gshadow', '/etc/ssh/ssh_host_rsa_key']);
  });

  it('replaces lists, macros and rules defined again; override replace swaps one key', () => {
    const later = `
- list: trusted_readers
  items: [cat]
- rule: Read sensitive file untrusted
  priority: CRITICAL
  output: replaced %proc.name
  override:
    priority: replace
    output: replace
`;
    const r = run([base, later], [shadowBy('cat'), shadowBy('sshd', 2)]);
    expect(r.loaded.errors).toEqual([]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]).toMatchObject({ rule: 'Read sensitive file untrusted', priority: 'Critical', output_fields: { 'proc.name': 'sshd' } });
    expect(r.alerts[0]!.output).toMatch(/^\d\d:\d\d:\d\d\.\d{9}: Critical replaced sshd$/);
  });

  it('appends to a rule condition and output (override append), and to tags', () => {
    const later = `
- rule: Read sensitive file untrusted
  condition: and not user.uid = 0
  output: (appended)
  tags: [extra]
  override:
    condition: append
    output: append
    tags: append
`;
    const r = run(
      [base, later],
      [openEvent({ pid: 1, comm: 'cat', path: '/etc/shadow', uid: 0 }), openEvent({ pid: 2, comm: 'cat', path: '/etc/shadow', uid: 1000 })],
    );
    expect(r.loaded.errors).toEqual([]);
    expect(r.alerts).toHaveLength(1);
    expect(r.alerts[0]!.output).toMatch(/uid=1000\) \(appended\)$/);
    expect(r.alerts[0]!.tags).toEqual(['filesystem', 'mitre_credential_access', 'extra']);
  });

  it('switches a rule off with enabled: false alone, and on again with override', () => {
    const off = `- rule: Read sensitive file untrusted\n  enabled: false\n`;
    const r = run([base, off], [shadowBy('cat')]);
    expect(r.alerts).toHaveLength(0);
    expect(r.loaded.statuses[0]).toMatchObject({ state: 'disabled', reason: 'enabled: false in the rules file' });
    const on = `- rule: Read sensitive file untrusted\n  enabled: true\n  override:\n    enabled: replace\n`;
    expect(run([base, off, on], [shadowBy('cat')]).alerts).toHaveLength(1);
  });

  it('says what is wrong with an append or override, with file and line', () => {
    const bad = `
- list: nothing_before
  items: [a]
  append: true
- rule: Read sensitive file untrusted
  condition: and proc.name = x
  append: true
  override:
    condition: append
- rule: Read sensitive file untrusted
  priority: ERROR
  override:
    priority: append
- rule: Read sensitive file untrusted
  output: x
  override:
    condition: replace
`;
    const r = run([base, bad]);
    expect(r.loaded.errors.map((e) => `${e.file}:${e.line} ${e.item}: ${e.message}`)).toEqual([
      'rules-1.yaml:2 list nothing_before: list has append or override but no list "nothing_before" was defined before',
      'rules-1.yaml:5 rule Read sensitive file untrusted: append and override cannot be used together',
      'rules-1.yaml:10 rule Read sensitive file untrusted: priority can only be replaced, not appended',
      'rules-1.yaml:14 rule Read sensitive file untrusted: override names condition but the item has no condition',
    ]);
  });

  it('refuses a file that needs a newer engine, and reads integer versions', () => {
    expect(run('- required_engine_version: 0.99.0').loaded.errors[0]!.message).toMatch(/requires engine version 0.99.0/);
    expect(run('- required_engine_version: 17').loaded.errors).toEqual([]);
    expect(run('- rule: x\n  bad: [').loaded.errors[0]!.message).toMatch(/invalid YAML/);
    expect(run('rule: x').loaded.errors[0]!.message).toMatch(/a rules file is a YAML list/);
  });
});

describe('exceptions', () => {
  const withExceptions = `${base}
- rule: Shell from server
  desc: x
  condition: evt.type = execve and proc.name in (bash, sh) and proc.pname in (nginx, node)
  output: shell %proc.name from %proc.pname (cmd=%proc.cmdline)
  priority: CRITICAL
  exceptions:
    - name: known_scripts
      fields: [proc.pname, proc.cmdline]
      comps: [=, startswith]
      values:
        - [nginx, bash /opt/healthcheck]
    - name: by_parent_list
      fields: [proc.pname, proc.args]
      comps: [in, contains]
      values:
        - [[node, deno], --version]
    - name: single_field
      fields: proc.args
      values: [-c uptime]
`;
  const host = fixedHost([
    { pid: 1, name: 'nginx', argv: ['nginx'] },
    { pid: 2, name: 'node', argv: ['node'] },
  ]);
  const shell = (ppid: number, argv: string[], pid: number) => execEvent({ pid, ppid, comm: 'bash', argv });

  it('leaves out events matching a value tuple, keeps the rest', () => {
    const events = [
      shell(1, ['bash', '/opt/healthcheck', '--quick'], 10), // known_scripts
      shell(1, ['bash', '-i'], 11), // alert
      shell(2, ['bash', '--version'], 12), // by_parent_list
      shell(2, ['bash', '-c', 'uptime'], 13), // single_field (proc.args in (...))
      shell(2, ['bash', '-c', 'id'], 14), // alert
    ];
    const r = run(withExceptions, events, host);
    expect(r.loaded.errors).toEqual([]);
    expect(r.alerts.map((a) => a.output_fields['proc.cmdline'])).toEqual(['bash -i', 'bash -c id']);
  });

  it('appends values to an exception of the same name from a later file', () => {
    const later = `
- rule: Shell from server
  exceptions:
    - name: known_scripts
      values:
        - [nginx, bash -i]
  override:
    exceptions: append
`;
    const r = run([withExceptions, later], [shell(1, ['bash', '-i'], 11), shell(2, ['bash', '-c', 'id'], 14)], host);
    expect(r.loaded.errors).toEqual([]);
    expect(r.alerts.map((a) => a.output_fields['proc.cmdline'])).toEqual(['bash -c id']);
  });

  it('says when a value tuple does not fit the fields', () => {
    const bad = withExceptions.replace('- [nginx, bash /opt/healthcheck]', '- [nginx]');
    expect(run(bad).loaded.errors[0]).toMatchObject({
      item: 'rule Shell from server',
      message: expect.stringMatching(/exception known_scripts: each value is a list of 2/),
    });
  });
});

describe('what Sherlock cannot fill is said, never guessed', () => {
  it('loads a rule with a field it lacks as disabled, with the reason', () => {
    const r = run(`${base}
- rule: K8s thing
  desc: x
  condition: open_read and k8s.ns.name = default
  output: "%k8s.pod.name"
  priority: NOTICE
- rule: Audit
  desc: x
  condition: ka.verb = create
  output: x
  priority: NOTICE
  source: k8s_audit
- rule: Mount
  desc: x
  condition: evt.type = switch and evt.dir = <
  output: x
  priority: NOTICE
`);
    expect(r.loaded.statuses.map((s) => [s.rule, s.state, s.reason])).toEqual([
      ['Read sensitive file untrusted', 'loaded', undefined],
      ['K8s thing', 'disabled', 'field k8s.ns.name is not available'],
      ['Audit', 'disabled', 'source k8s_audit is not captured by Sherlock (syscall events only)'],
      ['Mount', 'disabled', expect.stringMatching(/matches none of the event types Sherlock captures/)],
    ]);
    expect(r.loaded.errors).toEqual([]);
  });

  it('ignores fields needed only under event types Sherlock never produces (the outbound macro)', () => {
    const r = run(`
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
- rule: Out
  desc: x
  condition: outbound and not fd.sport in (80, 443)
  output: "%proc.name -> %fd.name"
  priority: NOTICE
`);
    expect(r.loaded.statuses[0]).toMatchObject({ state: 'loaded' });
    expect(r.loaded.rules[0]!.eventTypes).toEqual(new Set(['connect']));
  });

  it('loads a rule on calls seen only when they fail, and warns that it matches failures only', () => {
    const r = run(`${base}
- rule: Deleting files
  desc: x
  condition: evt.type in (unlink, unlinkat) and fd.name startswith /var/lib
  output: "%proc.name deleted %fd.name"
  priority: NOTICE
`);
    expect(r.loaded.statuses.map((s) => s.state)).toEqual(['loaded', 'loaded']);
    expect(r.loaded.warnings).toEqual([
      {
        file: 'rules-0.yaml',
        line: expect.any(Number),
        item: 'rule Deleting files',
        message: 'matches failed calls only: Sherlock sees unlink, unlinkat only when they fail (the syscallerrors capture)',
      },
    ]);
  });
});

describe('the two YAML paths', () => {
  it('give the same items and lines for a well-formed file (several documents, block scalars, comments, quotes)', () => {
    const text = `# header comment
- required_engine_version: 0.31.0
- list: shells
  items: [bash, "sh", 'zsh']
- macro: m
  condition: >
    evt.type = execve
    and proc.name in (shells)

---
- rule: R one
  desc: |
    - not an item: inside a block scalar
  condition: m and not proc.name = "x#y"
  output: "%proc.name"
  priority: WARNING
  priority: NOTICE
- rule: R two
  desc: x
  condition: m
  output: x
  priority: INFO
`;
    const fast = readRuleFile('f.yaml', text);
    const slow = readWithPositions('f.yaml', text);
    expect(fast.errors).toEqual([]);
    expect(fast).toEqual(slow);
    expect(fast.items.map((i) => i.line)).toEqual([2, 3, 5, 11, 18]);
    expect(fast.items[3]!.data.priority).toBe('NOTICE'); // duplicate keys: the last wins, as before
  });

  it('fall back to positions where the scan cannot place items, and for YAML errors', () => {
    const indented = `  - rule: A\n    desc: x\n    condition: evt.type = execve\n    output: x\n    priority: INFO\n`;
    expect(readRuleFile('i.yaml', indented).items.map((i) => [i.data.rule, i.line])).toEqual([['A', 1]]);
    const broken = `- rule: A\n  desc: [unclosed\n`;
    const read = readRuleFile('b.yaml', broken);
    expect(read.items).toEqual([]);
    expect(read.errors[0]).toMatchObject({ file: 'b.yaml', line: expect.any(Number), message: expect.stringMatching(/^invalid YAML: /) });
  });
});
