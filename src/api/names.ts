// Names that come from the outside (URL segments), checked once at the
// boundary: a bad one is a 400 that says what is allowed, never a lookup.
import { isValidNodeName, NODE_NAME_RULE } from '../redis/keys.js';
import { ApiError } from './errors.js';

const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ARTIFACT_NAME_RULE = 'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 128 characters (e.g. execsnoop.json)';

export function checkNodeName(name: string): string {
  if (!isValidNodeName(name)) throw new ApiError(400, 'invalid_node_name', `invalid node name "${name.slice(0, 100)}": node names are ${NODE_NAME_RULE}`);
  return name;
}

export function checkArtifactName(name: string): string {
  if (!ARTIFACT_NAME.test(name))
    throw new ApiError(400, 'invalid_artifact_name', `invalid artifact name "${name.slice(0, 100)}": artifact names are ${ARTIFACT_NAME_RULE}`);
  return name;
}
