// The core's error vocabulary. The classes are defined in src/model/errors.ts
// so the planner and the runbooks below the core throw the same ones.
export {
  Conflict,
  DomainError,
  Expired,
  Forbidden,
  Invalid,
  invalidInput,
  NotFound,
  Unauthenticated,
  TooBusy,
  Unavailable,
  Unprocessable,
} from '../model/errors.js';
