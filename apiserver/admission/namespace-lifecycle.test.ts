import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../api/registry.ts';
import { ApiError } from '../rest/status.ts';
import { ResourceCache, type CachedObject } from '../watchcache/cache.ts';
import { NamespaceLifecycle } from './namespace-lifecycle.ts';
import { attributes } from './testing.ts';

const cached = (obj: object): CachedObject =>
  ResourceCache.decode('/registry/namespaces/x', JSON.stringify(obj), 5) as CachedObject;
const namespaces: Record<string, CachedObject> = {
  live: cached({ metadata: { name: 'live' }, status: { phase: 'Active' } }),
  going: cached({ metadata: { name: 'going', deletionTimestamp: '2024-01-01T00:00:00Z' } }),
  phase: cached({ metadata: { name: 'phase' }, status: { phase: 'Terminating' } }),
};
const lifecycle = new NamespaceLifecycle((name) => namespaces[name]);

describe('NamespaceLifecycle', () => {
  it('admits creates in a namespace that exists, and cluster-scoped objects anywhere', () => {
    lifecycle.admit(attributes({ namespace: 'live' }));
    lifecycle.admit(attributes({ namespace: '', resource: lookupResource('', 'v1', 'nodes')! }));
  });

  it('refuses a create in a missing namespace with 404', () => {
    assert.throws(
      () => lifecycle.admit(attributes({ namespace: 'gone' })),
      (e: ApiError) => e.code === 404 && e.message === 'namespaces "gone" not found',
    );
  });

  it('refuses a create in a terminating namespace with 403 NamespaceTerminating', () => {
    for (const ns of ['going', 'phase']) {
      assert.throws(
        () => lifecycle.admit(attributes({ namespace: ns, name: 'web' })),
        (e: ApiError) => {
          assert.equal(e.code, 403);
          assert.equal(
            e.message,
            `pods "web" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
          );
          assert.deepEqual(e.details?.causes, [
            {
              reason: 'NamespaceTerminating',
              message: `namespace ${ns} is being terminated`,
              field: 'metadata.namespace',
            },
          ]);
          return true;
        },
      );
    }
  });

  it('handles creates only, and leaves subresources alone', () => {
    assert.equal(lifecycle.handles('UPDATE'), false);
    assert.equal(lifecycle.handles('DELETE'), false);
    lifecycle.admit(attributes({ namespace: 'going', subresource: 'binding' }));
  });
});
