// How Sherlock writes numbers, processes, targets and tables for people: the
// one set every layer (captures, analysis, report, CLI) looks down to.
export * from './units.js';
export * from './text.js';
export * from './run.js';
export * from './table.js';
export * from './human.js';
