// Moved to src/format/ (one set of formatters for every layer); this
// re-export keeps captures written against the old path compiling.
export * from '../format/index.js';
