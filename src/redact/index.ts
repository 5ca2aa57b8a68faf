// Secrets out of what a capture recorded. The operator's own patterns' schema (zod) is
// src/redact/operator-patterns.ts, imported only where a config file is read.
export { createRedactor, type Redactor } from './redactor.js';
export { redactCaptureData } from './redact-data.js';
export { BUILT_IN_PATTERNS, compilePatterns, REDACTED, type SecretPattern } from './patterns.js';
