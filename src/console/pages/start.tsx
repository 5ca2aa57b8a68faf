// Start a run: the runbooks with their descriptions, then one runbook's form,
// generated from its param declarations (HTML bounds from the same specs), its
// window, the target on each host and the nodes. The core checks the request
// with the API's rules; what it refuses is shown beside the field.
import { Hono } from 'hono';
import type { Child } from 'hono/jsx';
import type { NodeService } from '../../core/nodes.js';
import { DomainError, NotFound } from '../../core/errors.js';
import type { RunService } from '../../core/runs.js';
import type { SessionStore } from '../../core/sessions.js';
import type { NodeInfo } from '../../nodes/registry.js';
import { allowedText } from '../../runbooks/params.js';
import type { RunbookCatalog } from '../../runbooks/catalog.js';
import type { ParamSpec, Runbook } from '../../runbooks/schema.js';
import { formatDuration } from '../../util/duration.js';
import { statusOf } from '../../api/errors.js';
import { checkCsrf } from '../csrf.js';
import type { ConsoleEnv } from '../env.js';
import { page } from '../render.js';
import { needScope } from '../session.js';
import { fieldErrors, runRequestFrom, TARGET_INPUTS } from '../start-form.js';
import { CsrfField } from '../view.js';

export interface StartPageOptions {
  runs: RunService;
  nodes: NodeService;
  sessions: SessionStore;
  runbooks?: RunbookCatalog;
}

type Values = Record<string, string | string[]>;
type Errors = Map<string, string[]>;

const idOf = (field: string) => `f-${field.replace(/[^\w-]/g, '-')}`;
const TARGET_HINTS: Record<(typeof TARGET_INPUTS)[number], string> = {
  unit: 'a systemd unit, like nginx.service',
  comm: 'a process name (at most 15 characters)',
  pid: 'process ids, separated by commas',
  port: 'the processes listening on this TCP port',
  container: 'a container id (12 to 64 hex digits)',
  pod: 'a Kubernetes pod UID',
};

function Field({
  name,
  label,
  hint,
  errors,
  children,
}: {
  name: string;
  label: string;
  hint?: string;
  errors: Errors;
  children: (describedBy: string | undefined, invalid: boolean) => unknown;
}) {
  const id = idOf(name);
  const messages = errors.get(name) ?? [];
  const describedBy = [hint ? `${id}-hint` : '', messages.length ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {children(describedBy, messages.length > 0) as never}
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {messages.length > 0 && (
        <p class="error" id={`${id}-error`}>
          {messages.join(' ')}
        </p>
      )}
    </div>
  );
}

function ParamInput({ name, spec, value, describedBy, invalid }: { name: string; spec: ParamSpec; value: string; describedBy?: string; invalid: boolean }) {
  const common = {
    id: idOf(`p.${name}`),
    name: `p.${name}`,
    'aria-describedby': describedBy,
    'aria-invalid': invalid ? 'true' : undefined,
    required: spec.required && spec.default === undefined,
  };
  const fallback = spec.default === undefined ? '' : spec.type === 'duration' ? formatDuration(spec.default as number) : String(spec.default);
  switch (spec.type) {
    case 'enum':
    case 'bool': {
      const values = spec.type === 'enum' ? spec.values : ['true', 'false'];
      return (
        <select {...common}>
          <option value="">{fallback ? `default (${fallback})` : '—'}</option>
          {values.map((v) => (
            <option value={v} selected={value === v}>
              {v}
            </option>
          ))}
        </select>
      );
    }
    case 'int':
      return <input {...common} type="number" inputmode="numeric" step={1} min={spec.min} max={spec.max} value={value} placeholder={fallback} />;
    case 'duration':
      return <input {...common} type="text" value={value} placeholder={fallback || '30s'} pattern="\d+(\.\d+)?(ms|s|m|h)?" />;
    case 'string':
      return (
        <input
          {...common}
          type="text"
          value={value}
          placeholder={fallback}
          maxlength={spec.maxLength}
          minlength={spec.minLength}
          pattern={spec.pattern?.replace(/^\^|\$$/g, '')}
        />
      );
  }
}

function StartForm({ runbook, nodes, values, errors, csrf }: { runbook: Runbook; nodes: NodeInfo[]; values: Values; errors: Errors; csrf: Child }) {
  const v = (name: string) => {
    const x = values[name];
    return (Array.isArray(x) ? x[0] : x) ?? '';
  };
  const chosen = new Set([values.nodes ?? []].flat());
  const where = v('where') || 'all';
  const bound = new Set(Object.keys(runbook.target));
  const general = errors.get('') ?? [];
  return (
    <form method="post" action={`/start/${runbook.name}`} novalidate={false}>
      {csrf}
      {(general.length > 0 || errors.size > 0) && (
        <div class="banner bad" role="alert" id="form-errors">
          {general.length ? general.join(' ') : 'The run was not started: see the fields marked below.'}
        </div>
      )}
      <p>{runbook.description}</p>
      {Object.keys(runbook.params).length > 0 && (
        <fieldset>
          <legend>Parameters</legend>
          {Object.entries(runbook.params).map(([name, spec]) => (
            <Field
              name={`p.${name}`}
              label={`${name}${spec.required ? ' (required)' : ''}`}
              hint={`${spec.description ? `${spec.description}; ` : ''}${allowedText(spec)}`}
              errors={errors}
            >
              {(d, invalid) => <ParamInput name={name} spec={spec} value={v(`p.${name}`)} describedBy={d} invalid={invalid} />}
            </Field>
          ))}
        </fieldset>
      )}
      <fieldset>
        <legend>Window</legend>
        <Field
          name="duration"
          label="Duration"
          hint={`default ${formatDuration(runbook.limits.defaultDuration)}, at most ${formatDuration(runbook.limits.maxDuration)} (like 30s or 2m)`}
          errors={errors}
        >
          {(d, invalid) => (
            <input
              id={idOf('duration')}
              name="duration"
              type="text"
              value={v('duration')}
              placeholder={formatDuration(runbook.limits.defaultDuration)}
              aria-describedby={d}
              aria-invalid={invalid ? 'true' : undefined}
            />
          )}
        </Field>
      </fieldset>
      <fieldset>
        <legend>Target on each host (optional)</legend>
        <div class="grid">
          {TARGET_INPUTS.filter((f) => !bound.has(f)).map((f) => (
            <Field name={`target.${f}`} label={f} hint={TARGET_HINTS[f]} errors={errors}>
              {(d, invalid) => (
                <input
                  id={idOf(`target.${f}`)}
                  name={`target.${f}`}
                  type="text"
                  inputmode={f === 'pid' || f === 'port' ? 'numeric' : undefined}
                  value={v(`target.${f}`)}
                  aria-describedby={d}
                  aria-invalid={invalid ? 'true' : undefined}
                />
              )}
            </Field>
          ))}
        </div>
      </fieldset>
      <fieldset aria-describedby={errors.has('targets') ? `${idOf('targets')}-error` : undefined}>
        <legend>Nodes</legend>
        <label class="check">
          <input type="radio" name="where" value="all" checked={where === 'all'} /> every live node ({nodes.length})
        </label>
        <label class="check">
          <input type="radio" name="where" value="nodes" checked={where === 'nodes'} /> these nodes:
        </label>
        <div class="grid">
          {nodes.map((n) => (
            <label class="check">
              <input type="checkbox" name="nodes" value={n.name} checked={chosen.has(n.name)} /> {n.name}
              {n.busy ? ' (busy)' : ''}
            </label>
          ))}
        </div>
        <label class="check">
          <input type="radio" name="where" value="labels" checked={where === 'labels'} /> nodes with labels:
        </label>
        <div class="field">
          <label for={idOf('labels')}>Labels</label>
          <input id={idOf('labels')} name="labels" type="text" value={v('labels')} placeholder="role=web zone=a" aria-describedby={`${idOf('labels')}-hint`} />
          <p class="hint" id={`${idOf('labels')}-hint`}>
            key=value pairs, separated by spaces; a node needs them all
          </p>
        </div>
        {errors.has('targets') && (
          <p class="error" id={`${idOf('targets')}-error`}>
            {errors.get('targets')!.join(' ')}
          </p>
        )}
      </fieldset>
      <Field name="reason" label="Reason (optional)" hint="kept with the run and in its report: the incident, the alert" errors={errors}>
        {(d) => <input id={idOf('reason')} name="reason" type="text" maxlength={500} size={50} value={v('reason')} aria-describedby={d} />}
      </Field>
      <button type="submit">Start {runbook.name}</button>
    </form>
  );
}

export function startPage({ runs, nodes, sessions, runbooks }: StartPageOptions) {
  const app = new Hono<ConsoleEnv>();
  const write = needScope(sessions, 'runs:write');
  const runbookNamed = (name: string) => {
    const found = runbooks?.get(name);
    if (!found) throw new NotFound('unknown_runbook', `no runbook ${name}; runbooks: ${runbooks?.names().join(', ') || 'none installed'}`);
    return found;
  };

  app.get('/start', write, (c) => {
    const list = runbooks?.list() ?? [];
    return page(
      c,
      { title: 'Start a run', current: 'start' },
      list.length ? (
        <ul class="runbooks">
          {list.map((r) => (
            <li>
              <h2>
                <a href={`/start/${r.name}`}>{r.title}</a> <span class="muted">({r.name})</span>
              </h2>
              <p>{r.description}</p>
              <p class="muted">
                Captures: {r.steps.map((s) => s.capture).join(', ')}; window {formatDuration(r.limits.defaultDuration)} by default, at most{' '}
                {formatDuration(r.limits.maxDuration)}.
              </p>
            </li>
          ))}
        </ul>
      ) : (
        <p>No runbooks are installed on this server.</p>
      ),
    );
  });

  app.get('/start/:name', write, async (c) => {
    const runbook = runbookNamed(c.req.param('name'));
    const session = c.get('session')!;
    return page(
      c,
      { title: `Start: ${runbook.title}`, current: 'start' },
      <StartForm runbook={runbook} nodes={await nodes.live()} values={{}} errors={new Map()} csrf={<CsrfField session={session} />} />,
    );
  });

  app.post('/start/:name', write, async (c) => {
    const session = c.get('session')!;
    const form = (await c.req.parseBody({ all: true })) as Values;
    checkCsrf(c, session.csrf, form);
    const runbook = runbookNamed(c.req.param('name'));
    try {
      const run = await runs.start(runRequestFrom(runbook, form), { actor: session.name, origin: { via: 'console' } });
      return c.redirect(`/runs/${run.id}`, 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return page(
        c,
        { title: `Start: ${runbook.title}`, current: 'start' },
        <StartForm runbook={runbook} nodes={await nodes.live()} values={form} errors={fieldErrors(err)} csrf={<CsrfField session={session} />} />,
        statusOf(err),
      );
    }
  });

  return app;
}
