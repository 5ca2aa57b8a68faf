// The client's side of the operation table: paths filled and encoded, queries
// built, a missing parameter refused before anything is sent.
import { describe, expect, it } from 'vitest';
import { operationRequest } from '../../src/client/operations.js';

describe('operationRequest', () => {
  it('fills and encodes path parameters', () => {
    expect(operationRequest('getRun', { path: { id: 'abc' } })).toEqual({ method: 'GET', path: '/v1/runs/abc' });
    expect(operationRequest('getArtifact', { path: { id: 'r', node: 'web 1', name: '../x' } }).path).toBe('/v1/runs/r/nodes/web%201/artifacts/..%2Fx');
    expect(operationRequest('cancelRun', { path: { id: 'r' } }).method).toBe('DELETE');
  });

  it('adds the query, leaving out what is undefined', () => {
    expect(operationRequest('listRuns', { query: { limit: 5, status: 'failed', node: undefined } }).path).toBe('/v1/runs?limit=5&status=failed');
    expect(operationRequest('listAudit').path).toBe('/v1/audit');
  });

  it('refuses a missing path parameter', () => {
    expect(() => operationRequest('getRun', { path: {} as { id: string } })).toThrow(/getRun needs the path parameter id/);
  });
});
