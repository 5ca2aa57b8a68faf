// The rules of a target's fields that the CLI checks by hand (zod-free: `sherlock
// capture` starts without zod) and model/target.ts's schema checks for the API.
export { MAX_TGIDS } from './limits.js';

export const TASK_COMM_MAX = 15; // TASK_COMM_LEN 16, NUL included
export const UNIT_NAME = /^[\w@.:-]+$/;
export const UNIT_RULE = 'unit is a systemd unit name like nginx.service';
