export { findV8Runtime, type V8Runtime } from './runtime.js';
export { V8Functions, type JsFunction } from './functions.js';
export type { V8Layout } from './layout.js';
