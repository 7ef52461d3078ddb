import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { negotiate, parseResourcePath, pathSegmentNameErrors, requestPath } from './request.ts';
import { ApiError } from './status.ts';

describe('parseResourcePath', () => {
  it('parses core and group paths', () => {
    assert.deepEqual(parseResourcePath('/api/v1/pods'), {
      group: '',
      version: 'v1',
      resource: 'pods',
      name: undefined,
      subresource: undefined,
    });
    assert.deepEqual(parseResourcePath('/api/v1/namespaces/default/pods/web/status'), {
      group: '',
      version: 'v1',
      namespace: 'default',
      resource: 'pods',
      name: 'web',
      subresource: 'status',
    });
    assert.deepEqual(parseResourcePath('/apis/apps/v1/namespaces/x/deployments'), {
      group: 'apps',
      version: 'v1',
      namespace: 'x',
      resource: 'deployments',
      name: undefined,
      subresource: undefined,
    });
  });
  it('tells a namespace object from a namespaced collection', () => {
    assert.equal(parseResourcePath('/api/v1/namespaces/kube-system')?.name, 'kube-system');
    assert.equal(parseResourcePath('/api/v1/namespaces/kube-system/finalize')?.subresource, 'finalize');
    assert.equal(parseResourcePath('/api/v1/namespaces/kube-system/configmaps')?.resource, 'configmaps');
  });
  it('rejects paths too deep or too short', () => {
    assert.equal(parseResourcePath('/api/v1'), undefined);
    assert.equal(parseResourcePath('/api/v1/namespaces/a/pods/b/c/d'), undefined);
  });
});

describe('request paths as sent', () => {
  it('keeps dot segments and escapes, drops the query', () => {
    assert.equal(
      requestPath('/api/v1/namespaces/default/pods/%2e%2e?watch=1'),
      '/api/v1/namespaces/default/pods/%2e%2e',
    );
    assert.equal(requestPath('/api/v1/namespaces/default/pods/..'), '/api/v1/namespaces/default/pods/..');
    assert.equal(requestPath('/a#frag'), '/a');
    assert.equal(requestPath(undefined), '/');
    assert.equal(requestPath('https://host:6443/api/v1/pods?x=1'), '/api/v1/pods');
    // a name of dots stays a name: it is not the namespace holding it
    assert.equal(parseResourcePath(requestPath('/api/v1/namespaces/default/pods/%2E%2E'))?.name, '..');
  });

  it("names what cannot be a name in a path as Kubernetes' IsValidPathSegmentName does", () => {
    assert.deepEqual(pathSegmentNameErrors('web-1'), []);
    assert.deepEqual(pathSegmentNameErrors('..'), ["may not be '..'"]);
    assert.deepEqual(pathSegmentNameErrors('.'), ["may not be '.'"]);
    assert.deepEqual(pathSegmentNameErrors('a/%b'), ["may not contain '/'", "may not contain '%'"]);
    assert.deepEqual(pathSegmentNameErrors('...'), []);
  });

  it('refuses malformed escapes with a 400', () => {
    assert.throws(
      () => parseResourcePath('/api/v1/namespaces/default/pods/a%zzb'),
      (e: unknown) => e instanceof ApiError && e.code === 400 && e.message === 'invalid URL escape "%zz"',
    );
  });
});

describe('negotiate', () => {
  it('picks Table when kubectl asks for it', () => {
    const r = negotiate(
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
    );
    assert.equal(r?.as, 'Table');
  });
  it('falls back to plain JSON and refuses what it cannot give', () => {
    assert.equal(negotiate('application/json')?.as, 'Object');
    assert.equal(negotiate(undefined)?.as, 'Object');
    assert.equal(negotiate('application/vnd.kubernetes.protobuf'), undefined);
    assert.equal(negotiate('application/vnd.kubernetes.protobuf, */*')?.as, 'Object');
  });
});
