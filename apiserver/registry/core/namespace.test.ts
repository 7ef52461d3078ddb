import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../../api/registry.ts';
import { namespaceStrategy } from '../../api/core/namespace.ts';
import { NamespaceStrategy } from './namespace.ts';

const namespaces = new NamespaceStrategy(lookupResource('', 'v1', 'namespaces')!, namespaceStrategy);

describe('the namespace strategy', () => {
  it('starts a namespace Active', () => {
    const ns = { metadata: { name: 'a' } } as Record<string, unknown>;
    namespaces.prepareForCreate(ns);
    assert.deepEqual(ns.status, { phase: 'Active' });
  });

  it('changes spec.finalizers only through the finalize subresource', () => {
    const cur = { metadata: { name: 'a' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } };
    const update = { metadata: { name: 'a' }, spec: {} };
    namespaces.prepareForUpdate(update, cur, undefined);
    assert.deepEqual(update.spec, { finalizers: ['kubernetes'] });
    const finalize = { metadata: { name: 'a' }, spec: { finalizers: [] } };
    namespaces.prepareForUpdate(finalize, cur, 'finalize');
    assert.deepEqual(finalize.spec, { finalizers: [] });
  });

  it('is held by spec.finalizers too, and marked Terminating when deleted', () => {
    assert.equal(namespaces.hasFinalizers({ metadata: {}, spec: { finalizers: ['kubernetes'] } }), true);
    assert.equal(namespaces.hasFinalizers({ metadata: { finalizers: [] }, spec: { finalizers: [] } }), false);
    const ns = { metadata: {}, status: { phase: 'Active' } } as Record<string, unknown>;
    namespaces.prepareForDeletion(ns);
    assert.deepEqual(ns.status, { phase: 'Terminating' });
  });
});
