// A runbook request → a plan: params checked (errors name the param and what
// is allowed), the window within the runbook's limit, the target built from
// the params the runbook names, settings filled from params, event caps; and
// POST /v1/runs's schema and planner around it.
import { release } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planRun } from '../../src/planner/plan.js';
import { DomainError, Invalid, NotFound } from '../../src/model/errors.js';
import { runRequestSchema } from '../../src/planner/run-request.js';
import { RunbookCatalog } from '../../src/runbooks/catalog.js';
import { expandRunbook } from '../../src/runbooks/expand.js';
import { parseRunbook } from '../../src/runbooks/loader.js';
import { paramsJsonSchema, validateParams } from '../../src/runbooks/params.js';
import type { Runbook } from '../../src/runbooks/schema.js';
import type { NodeInfo } from '../../src/nodes/registry.js';
import { projectRoot } from '../../src/util/paths.js';

const TEST_RUNBOOK = `name: svc
title: Service check
description: params of every type, for tests
params:
  service: { type: string, pattern: '^[a-z-]+$', maxLength: 30, description: the unit }
  comm: { type: string, maxLength: 15 }
  pid: { type: int, min: 1 }
  port: { type: int, min: 1, max: 65535 }
  hz: { type: int, min: 1, max: 999, default: 49 }
  block: { type: duration, min: 1ms, max: 1s, default: 10ms }
  mode: { type: enum, values: [fast, slow], default: fast }
  idle: { type: bool, default: false }
  ports: { type: string, default: '443' }
target:
  unit: service
  comm: comm
  pid: pid
  port: port
limits:
  defaultDuration: 20s
  maxDuration: 5m
  maxEvents: 1000
thresholds:
  connectP99Ms: 50
steps:
  - capture: profile
    params: { frequency: '\${hz}', includeIdle: '\${idle}' }
  - capture: offcputime
    params: { minBlockUs: '\${block:us}' }
  - capture: execsnoop
  - capture: tcpconnlat
rules:
  - name: odd-port
    title: Odd port
    connect: { not: { port: '\${ports}' } }
`;

function source(...books: Runbook[]) {
  return { get: (n: string) => books.find((b) => b.name === n), names: () => books.map((b) => b.name) };
}
const loaded = parseRunbook(TEST_RUNBOOK, '/rb/svc.yaml');
if (!('runbook' in loaded)) throw new Error(JSON.stringify(loaded.error));
const svc = loaded.runbook;
const books = source(svc);

function expectError(fn: () => unknown, code: string, ...mentions: string[]) {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error, 'it should throw').toBeInstanceOf(Error);
  expect(error, 'a domain error (the API maps its kind to a status)').toBeInstanceOf(DomainError);
  const e = error as DomainError;
  expect(e.code).toBe(code);
  for (const m of mentions) expect(e.message).toContain(m);
  return e;
}

describe('params', () => {
  it('fills defaults and types values, text included (ChatOps, CLI)', () => {
    const { values, errors } = validateParams(svc, { port: '5432', block: '250ms', idle: 'true', mode: 'slow' });
    expect(errors).toEqual([]);
    expect(values).toEqual({ port: 5432, hz: 49, block: 250, mode: 'slow', idle: true, ports: '443' });
  });

  it.each([
    [{ port: 70000 }, 'port', ['70000', 'maximum 65535', 'an integer 1..65535']],
    [{ port: 'http' }, 'port', ['"http" is not an integer']],
    [{ pid: 0 }, 'pid', ['below the minimum 1']],
    [{ block: '5s' }, 'block', ['5s', 'maximum 1s']],
    [{ block: 'soon' }, 'block', ['not a duration', '1ms..1s']],
    [{ mode: 'turbo' }, 'mode', ['"turbo"', 'one of fast, slow']],
    [{ idle: 'yes' }, 'idle', ['true or false']],
    [{ service: 'Bad_Name' }, 'service', ['does not match ^[a-z-]+$']],
    [{ comm: 'a-very-long-process-name' }, 'comm', ['longer than 15']],
    [{ sevice: 'x' }, 'sevice', ['unknown param sevice', 'takes service, comm, pid, port']],
  ] as [Record<string, unknown>, string, string[]][])('%j → an error naming %s and what is allowed', (given, param, mentions) => {
    const { errors } = validateParams(svc, given);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.param).toBe(param);
    for (const m of mentions) expect(errors[0]!.message).toContain(m);
  });

  it('a required param without a value', () => {
    const book = parseRunbook(
      TEST_RUNBOOK.replace('maxLength: 30, description: the unit', 'maxLength: 30, required: true, description: the unit').replace('name: svc', 'name: req'),
      '/rb/req.yaml',
    );
    if (!('runbook' in book)) throw new Error('did not load');
    const { errors } = validateParams(book.runbook, {});
    expect(errors[0]!.message).toContain('param service is required (the unit)');
  });

  it('as JSON Schema', () => {
    const schema = paramsJsonSchema(svc) as { properties: Record<string, Record<string, unknown>>; additionalProperties: boolean };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.port).toMatchObject({ type: 'integer', minimum: 1, maximum: 65535 });
    expect(schema.properties.mode).toMatchObject({ type: 'string', enum: ['fast', 'slow'], default: 'fast' });
    expect(schema.properties.idle).toMatchObject({ type: 'boolean', default: false });
    expect(schema.properties.block).toMatchObject({ default: '10ms', 'x-minimum-ms': 1, 'x-maximum-ms': 1000 });
    expect(schema.properties.service).toMatchObject({ type: 'string', pattern: '^[a-z-]+$', description: 'the unit' });
  });
});

describe('expandRunbook', () => {
  it('builds the target from the params the runbook names', () => {
    expect(expandRunbook(books, { runbook: 'svc', params: { service: 'checkout' } }).target).toEqual({ unit: 'checkout' });
    expect(expandRunbook(books, { runbook: 'svc', params: { pid: 42, port: 8080 } }).target).toEqual({ pid: [42], port: 8080 });
    expect(expandRunbook(books, { runbook: 'svc', params: { comm: 'nginx' }, target: { uid: 33 } }).target).toEqual({ comm: 'nginx', uid: 33 });
  });

  it('fills settings from params (typed, with units), caps events, carries params, thresholds and rules', () => {
    const plan = expandRunbook(books, { runbook: 'svc', params: { hz: 199, idle: true, block: '2ms', ports: '22,443' } });
    expect(plan.steps[0]).toEqual({ capture: 'profile', params: expect.objectContaining({ frequency: 199, includeIdle: true }) });
    expect(plan.steps[1]!.params.minBlockUs).toBe(2000);
    expect(plan.steps[2]!.params.maxEvents).toBe(1000); // execsnoop's 100000 capped by limits.maxEvents
    expect(plan.params).toEqual({ hz: 199, idle: true, block: 2, mode: 'fast', ports: '22,443' });
    expect(plan.thresholds).toEqual({ connectP99Ms: 50 });
    expect(plan.rules![0]!.connect!.not![0]!.port).toEqual([22, 443]);
    expect(plan.runbookTitle).toBe('Service check');
    expect(plan.durationMs).toBe(20_000);
  });

  it('bounds the window by the runbook limit', () => {
    expectError(
      () => expandRunbook(books, { runbook: 'svc', duration: 20 * 60_000 }),
      'duration_over_limit',
      'duration 20m exceeds the 5m limit for this runbook (svc)',
    );
    expect(expandRunbook(books, { runbook: 'svc', duration: 5 * 60_000 }).durationMs).toBe(300_000);
    expect(expandRunbook(books, { runbook: 'svc', params: { duration: '45s' } }).durationMs).toBe(45_000);
    expectError(() => expandRunbook(books, { runbook: 'svc', params: { duration: '6m' } }), 'invalid_params', 'duration', 'maximum 5m');
    expectError(() => expandRunbook(books, { runbook: 'svc', duration: 1000, params: { duration: '2s' } }), 'invalid_params', 'given twice');
  });

  it('rejects bad params with every error at once, and an unknown runbook listing the known ones', () => {
    const e = expectError(() => expandRunbook(books, { runbook: 'svc', params: { port: 0, mode: 'x' } }), 'invalid_params', 'param port', 'param mode');
    expect(e).toBeInstanceOf(Invalid); // 400
    expect((e.details as { param: string }[]).map((d) => d.param)).toEqual(['port', 'mode']);
    const unknown = expectError(() => expandRunbook(books, { runbook: 'nope' }), 'unknown_runbook', '"nope"', 'runbooks: svc');
    expect(unknown).toBeInstanceOf(NotFound); // 404
    expect(unknown.details).toEqual({ available: ['svc'] });
  });

  it('a param whose value makes a setting invalid names the param', () => {
    const book = parseRunbook(TEST_RUNBOOK.replace('max: 999, default: 49', 'max: 99999, default: 49').replace('name: svc', 'name: wide'), '/rb/wide.yaml');
    if (!('runbook' in book)) throw new Error('did not load');
    expectError(
      () => expandRunbook(source(book.runbook), { runbook: 'wide', params: { hz: 50_000 } }),
      'invalid_params',
      'hz=50000',
      'steps[0] (profile)',
      'frequency',
    );
  });

  it("a target param that contradicts the request's own target is refused, naming the param", () => {
    expectError(() => expandRunbook(books, { runbook: 'svc', params: { comm: 'nginx' }, target: { comm: 'httpd' } }), 'target_conflict', 'param comm');
  });
});

describe('POST /v1/runs schema and planner', () => {
  const live: NodeInfo[] = [
    { name: 'n1', labels: {}, kernel: release(), btf: true, captures: [], busy: false, version: '0.1.0', lastSeen: new Date().toISOString() },
  ];
  const catalog = RunbookCatalog.load(join(projectRoot, 'runbooks'));
  const plan = (body: Record<string, unknown>) => {
    const parsed = runRequestSchema.safeParse(body);
    if (!parsed.success) throw new Invalid('invalid_request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    return planRun(parsed.data, live, catalog);
  };

  it('a runbook run: steps from the runbook, params and title in the plan', () => {
    const p = plan({ runbook: 'intermittent-latency', params: { service: 'checkout', frequency: 49 }, duration: '20s', targets: { all: true } });
    expect(p.runbook).toBe('intermittent-latency');
    expect(p.runbookTitle).toBe('Intermittent latency');
    expect(p.params).toEqual({ service: 'checkout', frequency: 49 });
    expect(p.target).toEqual({ unit: 'checkout' });
    expect(p.durationMs).toBe(20_000);
    expect(p.nodes).toEqual(['n1']);
    expect(p.steps.find((s) => s.capture === 'profile')!.params.frequency).toBe(49);
    expect(p.thresholds?.connectP99Ms).toBe(100);
  });

  it('a window over the runbook limit, though under nothing else the API checks first', () => {
    expectError(
      () => plan({ runbook: 'intermittent-latency', duration: '20m', targets: { all: true } }),
      'duration_over_limit',
      'duration 20m exceeds the 5m limit for this runbook',
    );
  });

  it('ad-hoc runs keep the server limit and their steps', () => {
    expectError(() => plan({ steps: [{ capture: 'execsnoop' }], duration: '20m', targets: { all: true } }), 'invalid_request', 'duration', '1s..10m');
    expect(plan({ steps: [{ capture: 'execsnoop' }], duration: '2s', targets: { all: true } }).runbook).toBeUndefined();
  });

  it('a runbook with steps, or params without a runbook, is refused', () => {
    expectError(() => plan({ runbook: 'high-cpu', steps: [{ capture: 'execsnoop' }], targets: { all: true } }), 'invalid_request', 'not both');
    expectError(() => plan({ steps: [{ capture: 'execsnoop' }], params: { pid: 1 }, targets: { all: true } }), 'invalid_request', 'params go with a runbook');
  });

  it('an unknown runbook is a 404 listing the built-in ones', () => {
    const e = expectError(() => plan({ runbook: 'no-such', targets: { all: true } }), 'unknown_runbook', 'intermittent-latency', 'high-cpu', 'steps');
    expect(e).toBeInstanceOf(NotFound); // 404
  });
});
