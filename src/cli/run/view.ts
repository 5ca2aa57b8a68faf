// What `sherlock run` reads back from the API, and the hints it prints: the
// shapes of GET /v1/runs/:id and POST /v1/runs replies as the CLI uses them.
import type { ReplyOf } from '../../client/operations.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:7070';
/** Where `sherlock up` keeps its state, the admin token among it (SHERLOCK_STATE_DIR). */
export const DEFAULT_STATE_DIR = '/var/lib/sherlock';

/** A run as GET /v1/runs/:id shows it (typed from the API's own reply schema). */
export type RunView = ReplyOf<'getRun'>;

/** POST /v1/runs's reply. */
export type Submitted = ReplyOf<'startRun'>;

/** ` --api URL` in printed commands, unless it is the default. */
export const apiFlag = (base: string) => (base === DEFAULT_API_URL ? '' : ` --api ${base}`);
