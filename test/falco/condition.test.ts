// The condition language: precedence, quoting, every operator, transformers,
// lists and macros, and errors that point at the position.
import { describe, expect, it } from 'vitest';
import { parseCondition } from '../../src/falco/condition-parser.js';
import { connectEvent, execEvent, fixedHost, holds, openEvent, run, ruleText } from './fixtures.js';

const cat = () => openEvent({ pid: 10, comm: 'cat', path: '/etc/shadow' });

describe('precedence and grammar', () => {
  it('binds not tighter than and, and tighter than or', () => {
    const e = cat();
    // not a and b = (not a) and b
    expect(holds('not proc.name=cat and fd.name=/etc/shadow', e)).toBe(false);
    expect(holds('not (proc.name=bash and fd.name=/etc/shadow)', e)).toBe(true);
    // a or b and c = a or (b and c)
    expect(holds('proc.name=cat or proc.name=x and fd.name=/nope', e)).toBe(true);
    expect(holds('(proc.name=cat or proc.name=x) and fd.name=/nope', e)).toBe(false);
    expect(holds('not not proc.name=cat', e)).toBe(true);
    expect(holds('not(proc.name=bash)', e)).toBe(true);
  });

  it('parses the AST shapes Falco does', () => {
    const ast = parseCondition('a or b and not c');
    expect(ast).toMatchObject({
      kind: 'or',
      children: [
        { kind: 'macro', name: 'a' },
        {
          kind: 'and',
          children: [
            { kind: 'macro', name: 'b' },
            { kind: 'not', child: { kind: 'macro', name: 'c' } },
          ],
        },
      ],
    });
    expect(parseCondition('proc.aname[2] in (a, "b c")')).toMatchObject({
      kind: 'check',
      field: { name: 'proc.aname', arg: '2' },
      op: 'in',
      value: { kind: 'list', items: [{ value: 'a' }, { value: 'b c' }] },
    });
    expect(parseCondition("fd.name = 'it''s'".replace("''", "\\'"))).toMatchObject({ value: { value: "it's" } });
    // `inbound` is a macro, not the operator `in` followed by "bound".
    expect(parseCondition('inbound and outbound')).toMatchObject({ kind: 'and' });
  });

  it('reads quoted values with escapes and bare values up to a blank, comma or parenthesis', () => {
    const e = openEvent({ pid: 1, comm: 'x', path: '/tmp/a b"c' });
    expect(holds('fd.name = "/tmp/a b\\"c"', e)).toBe(true);
    expect(holds("fd.name = '/tmp/a b\"c'", e)).toBe(true);
    expect(holds('fd.name in (/tmp/x, "/tmp/a b\\"c")', e)).toBe(true);
  });

  it('names the rule, the file and the column of a syntax error', () => {
    const r = run(ruleText('proc.name = cat and (fd.name = /x'));
    expect(r.loaded.statuses[0]).toMatchObject({ rule: 'R', state: 'error' });
    const err = r.loaded.errors[0]!;
    expect(err).toMatchObject({ file: 'rules-0.yaml', line: 1, item: 'rule R' });
    expect(err.message).toMatch(/column 34: expected "\)"/);
    expect(run(ruleText('proc.name === cat')).loaded.errors[0]!.message).toMatch(/column 13/);
    expect(run(ruleText('proc.name like cat')).loaded.errors[0]!.message).toMatch(/"like" is not an operator/);
    expect(run(ruleText('proc.name = cat and')).loaded.errors[0]!.message).toMatch(/ends where a check was expected/);
    expect(run(ruleText('fd.name = "/x')).loaded.errors[0]!.message).toMatch(/not closed/);
  });
});

describe('operators', () => {
  const e = openEvent({ pid: 10, comm: 'cat', path: '/etc/ssh/sshd_config' });
  it.each([
    ['fd.name = /etc/ssh/sshd_config', true],
    ['fd.name == /etc/ssh/sshd_config', true],
    ['fd.name != /etc/ssh/sshd_config', false],
    ['fd.name contains ssh/', true],
    ['fd.name icontains SSHD_', true],
    ['fd.name contains SSHD_', false],
    ['fd.name bcontains 737368645f', true], // "sshd_"
    ['fd.name bcontains 7373685f', false], // "ssh_"
    ['fd.name bstartswith 2f657463', true], // "/etc"
    ['fd.name bstartswith 2f757372', false],
    ['fd.name startswith /etc/', true],
    ['fd.name endswith _config', true],
    ['fd.name glob /etc/*/sshd_*', true],
    ['fd.name glob /etc/ssh/sshd_?onfig', true],
    ['fd.name glob /etc/[st]sh/*', true],
    ['fd.name glob /etc/ssh', false],
    ['fd.name iglob /ETC/*', true],
    ['fd.name regex "/etc/ss+h/.*"', true],
    ['fd.name regex "ssh"', false], // a full match, as RE2::FullMatch
    ['fd.name in (/etc/passwd, /etc/ssh/sshd_config)', true],
    ['fd.name intersects (/etc/ssh/sshd_config)', true],
    ['fd.name pmatch (/etc/ssh, /usr)', true],
    ['fd.name pmatch (/etc/ss)', false],
    ['fd.name pmatch (/etc/*/sshd_config)', true],
    ['fd.name exists', true],
    ['fd.sip exists', false],
    ['proc.pid < 11 and proc.pid <= 10 and proc.pid > 9 and proc.pid >= 10', true],
    ['fd.num >= 0 and fd.num = 3 and fd.num != 4', true],
    ['fd.num = 0x3', true],
    ['evt.is_open_read = true and evt.is_open_write = false', true],
  ])('%s → %s', (condition, expected) => {
    expect(holds(condition, e)).toBe(expected);
  });

  it('is false for a field without a value, whatever the operator; not makes it true', () => {
    const exec = execEvent({ pid: 5, ppid: 1, comm: 'ls' });
    expect(holds('fd.name != /etc/passwd', exec)).toBe(false);
    expect(holds('fd.name = /etc/passwd', exec)).toBe(false);
    expect(holds('not fd.name = /etc/passwd', exec)).toBe(true);
  });

  it('compares addresses and networks by value', () => {
    const c = connectEvent({ pid: 7, comm: 'curl', remote: '198.18.0.9', port: 4444 });
    expect(holds('fd.sip = 198.18.0.9 and fd.sport = 4444 and fd.l4proto = tcp and fd.typechar = 4', c)).toBe(true);
    expect(holds('fd.snet = "198.18.0.0/15"', c)).toBe(true);
    expect(holds('fd.snet in ("10.0.0.0/8", "192.168.0.0/16")', c)).toBe(false);
    expect(holds('fd.net != "127.0.0.0/8"', c)).toBe(true);
    expect(holds('fd.sip in (198.18.0.9, 1.1.1.1)', c)).toBe(true);
    const v6 = connectEvent({ pid: 7, comm: 'curl', remote: '2001:db8::1', port: 443 });
    expect(holds('fd.sip = "2001:0db8:0:0::1" and fd.typechar = 6', v6)).toBe(true);
  });

  it('refuses an operator the field type does not take, naming both', () => {
    expect(run(ruleText('proc.pid contains 1')).loaded.errors[0]!.message).toMatch(/contains is not supported on proc.pid/);
    expect(run(ruleText('proc.name < abc')).loaded.errors[0]!.message).toMatch(/expected a number/);
    expect(run(ruleText('proc.pid = abc')).loaded.errors[0]!.message).toMatch(/"abc" is not a number/);
    expect(run(ruleText('fd.name regex "("')).loaded.errors[0]!.message).toMatch(/invalid regular expression/);
  });
});

describe('transformers and val()', () => {
  const e = openEvent({ pid: 10, comm: 'Cat', path: '/Data/Secret.TXT' });
  it('applies tolower, toupper, basename, len, nested', () => {
    expect(holds('tolower(proc.name) = cat', e)).toBe(true);
    expect(holds('toupper(fd.name) = /DATA/SECRET.TXT', e)).toBe(true);
    expect(holds('basename(fd.name) = Secret.TXT', e)).toBe(true);
    expect(holds('tolower(basename(fd.name)) endswith .txt', e)).toBe(true);
    expect(holds('len(fd.name) = 16', e)).toBe(true);
    expect(holds('b64(proc.name) exists', e)).toBe(true);
  });
  it('compares with another field through val() and transformers on the right', () => {
    const ex = execEvent({ pid: 20, ppid: 1, comm: 'bash', pcomm: 'bash' });
    const host = fixedHost([{ pid: 1, name: 'bash', argv: ['bash'] }]);
    expect(holds('proc.name = val(proc.pname)', ex, '', host)).toBe(true);
    expect(holds('proc.name != val(proc.pname)', ex, '', host)).toBe(false);
    expect(holds('toupper(proc.name) = toupper(proc.pname)', ex, '', host)).toBe(true);
  });
  it('refuses a transformer on a number', () => {
    expect(run(ruleText('tolower(proc.pid) = 1')).loaded.errors[0]!.message).toMatch(/tolower\(\) takes a string field/);
  });
});

describe('lists and macros', () => {
  const before = `
- list: shells
  items: [bash, sh]
- list: more_shells
  items: [shells, zsh, '"odd name"']
- macro: shell_procs
  condition: proc.name in (more_shells)
- macro: interactive
  condition: shell_procs and not proc.pname = cron
`;
  it('expands lists in lists, quoted items, by name alone and inline; macros in macros', () => {
    const zsh = execEvent({ pid: 3, ppid: 2, comm: 'zsh', pcomm: 'sshd' });
    expect(holds('spawned_process_x', zsh, `${before}\n- macro: spawned_process_x\n  condition: evt.type = execve and interactive`)).toBe(true);
    expect(holds('proc.name in more_shells', zsh, before)).toBe(true);
    expect(holds('proc.name in (shells)', zsh, before)).toBe(false);
    expect(holds('proc.name in (more_shells)', execEvent({ pid: 4, ppid: 2, comm: 'odd name' }), before)).toBe(true);
  });
  it('resolves macros defined after the rule, and reports undefined and cyclic ones', () => {
    const e = cat();
    expect(holds('later', e, '- macro: later\n  condition: proc.name = cat')).toBe(true);
    expect(run(ruleText('nowhere and proc.name = cat')).loaded.errors[0]!.message).toMatch(/column 1: undefined macro "nowhere"/);
    const cyc = run(`- macro: a\n  condition: b\n- macro: b\n  condition: a\n${ruleText('a')}`);
    expect(cyc.loaded.errors[0]!.message).toMatch(/refers to itself/);
    expect(run(ruleText('proc.name in nolist')).loaded.errors[0]!.message).toMatch(/undefined list "nolist"/);
  });
});
