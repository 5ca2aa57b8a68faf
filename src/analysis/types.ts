// Findings types live in src/model/findings.ts (every layer looks down to
// them); this name stays for the captures' analyzers that import it.
export { SYMPTOMS } from '../model/findings.js';
export type { BaselineMetric, Finding, Impact, Links, SameCause, Severity, Symptom, Thresholds } from '../model/findings.js';
