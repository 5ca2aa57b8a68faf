// The layers of src/, top to bottom; imports only point down (or sideways
// within a layer, never in a cycle). test/architecture/layers.test.ts runs
// these rules in `make test`; `npx depcruise src` shows the same.
//
//   entry points   cli, client, server, api, triggers, schedules, console
//   core           core                     (the application: runs, tokens, audit, schedules...)
//   flow           planner, queue, worker   (a request becomes jobs on nodes)
//   domain         captures, analysis, falco, report, runbooks, baselines, runs, nodes, config
//   ground floors  libbpf, symbolize, unwind, stacks, cgroups, redis, format, util, model, redact
const layer = (...folders) => `^src/(${folders.join('|')})/`;

const ENTRY = ['cli', 'client', 'server', 'api', 'triggers', 'schedules', 'console'];
const CORE = ['core'];
const FLOW = ['planner', 'queue', 'worker'];
const DOMAIN = ['captures', 'analysis', 'falco', 'report', 'runbooks', 'baselines', 'runs', 'nodes', 'config'];
const GROUND = ['libbpf', 'symbolize', 'unwind', 'stacks', 'cgroups', 'redis', 'format', 'util', 'model', 'redact'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'an import cycle: the modules cannot be understood (or loaded) one before the other',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'ground-looks-down',
      severity: 'error',
      comment: 'ground floors (libbpf, symbolize, unwind, stacks, cgroups, redis, format, util, model) import only each other',
      from: { path: layer(...GROUND) },
      to: { path: layer(...ENTRY, ...CORE, ...FLOW, ...DOMAIN) },
    },
    {
      name: 'domain-looks-down',
      severity: 'error',
      comment: 'captures, analysis, report, runbooks, baselines, runs, nodes and config know nothing of the flow, the core or the entry points',
      from: { path: layer(...DOMAIN) },
      to: { path: layer(...ENTRY, ...CORE, ...FLOW) },
    },
    {
      name: 'flow-looks-down',
      severity: 'error',
      comment: 'planner, queue and worker know nothing of the core or the entry points',
      from: { path: layer(...FLOW) },
      to: { path: layer(...ENTRY, ...CORE) },
    },
    {
      name: 'core-looks-down',
      severity: 'error',
      comment: 'the application core is called by the entry points, never the other way',
      from: { path: layer(...CORE) },
      to: { path: layer(...ENTRY) },
    },
    {
      name: 'triggers-and-schedules-not-through-http',
      severity: 'error',
      comment: 'triggers and the scheduler call the core, not the HTTP layer',
      from: { path: layer('triggers', 'schedules') },
      to: { path: layer('api') },
    },
    {
      name: 'http-only-in-api',
      severity: 'error',
      comment: 'HTTP (hono) is the API\'s and the console\'s; the server only serves them',
      from: { path: '^src/', pathNot: layer('api', 'console', 'server') },
      to: { path: '(^|/)node_modules/(hono|@hono/)' },
    },
    {
      name: 'every-file-in-a-layer',
      severity: 'error',
      comment: 'a new top-level folder of src/ needs a place in the layers above (and in this file)',
      from: { path: '^src/', pathNot: layer(...ENTRY, ...CORE, ...FLOW, ...DOMAIN, ...GROUND) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.tsx', '.js', '.d.ts'] },
    exclude: { path: '^(test|bench|dist|node_modules)/' },
  },
};
