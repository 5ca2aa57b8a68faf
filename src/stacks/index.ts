// The stack outputs: folded text, gzipped pprof, flame graph SVG, speedscope
// JSON, each made from a StackProfile (src/stacks/types.ts).
export type { StackProfile, StackSample } from './types.js';
export { toFolded, foldStacks, foldedFrame, type FoldedOptions } from './folded.js';
export { toPprof, buildPprof, type PprofOptions } from './pprof.js';
export { toFlameGraphSvg, escapeXml, type FlameGraphOptions } from './flamegraph.js';
export { toSpeedscope, buildSpeedscope, SPEEDSCOPE_SCHEMA, type SpeedscopeFile, type SpeedscopeOptions } from './speedscope.js';
