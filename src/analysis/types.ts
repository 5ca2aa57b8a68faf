// Findings types live in src/model/findings.ts (every layer looks down to
// them); this name stays for the captures' analyzers that import it.
export type { BaselineMetric, Finding, Severity, Thresholds } from '../model/findings.js';
