// The core's error vocabulary. The classes are defined in src/model/errors.ts
// so the planner and the runbooks below the core throw the same ones.
export { Conflict, DomainError, Forbidden, Invalid, invalidInput, NotFound, Unauthenticated, Unavailable, Unprocessable } from '../model/errors.js';
