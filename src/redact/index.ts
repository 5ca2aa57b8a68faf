export { createRedactor, type Redactor } from './redactor.js';
export { redactCaptureData } from './redact-data.js';
export { BUILT_IN_PATTERNS, REDACTED, type SecretPattern } from './patterns.js';
export { compilePatterns, redactionConfigSchema, type RedactionConfig } from './operator-patterns.js';
