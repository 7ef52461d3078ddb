import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServiceAccountClaims, ServiceAccountTokenRequest } from '../../auth/service-account.ts';
import { boundTokenStillValid, createTokenRequest, type TokenRequestDeps } from './token-request.ts';

const NOW = Date.parse('2026-03-01T10:00:00Z');
function deps(over: Partial<TokenRequestDeps> = {}) {
  const signed: ServiceAccountTokenRequest[] = [];
  const objs: Record<string, any> = {
    'sa/ns/default': { metadata: { name: 'default', namespace: 'ns', uid: 'sa-uid' } },
    'pod/ns/web': {
      metadata: { name: 'web', namespace: 'ns', uid: 'pod-uid' },
      spec: { serviceAccountName: 'default', nodeName: 'n1' },
    },
    'node//n1': { metadata: { name: 'n1', uid: 'node-uid' } },
  };
  const d: TokenRequestDeps = {
    serviceAccount: async (ns, n) => objs[`sa/${ns}/${n}`],
    pod: async (ns, n) => objs[`pod/${ns}/${n}`],
    secret: async (ns, n) => objs[`secret/${ns}/${n}`],
    node: async (n) => objs[`node//${n}`],
    sign: (req) => {
      signed.push(req);
      return 'signed.jwt.token';
    },
    audiences: ['https://kubernetes.default.svc.cluster.local'],
    now: () => NOW,
    ...over,
  };
  return { d, signed };
}

describe('TokenRequest', () => {
  it('defaults audiences and lifetime and answers with the token and its expiry', async () => {
    const { d, signed } = deps();
    const out = await createTokenRequest(d, 'ns', 'default', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {},
    });
    assert.deepEqual(out, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'default', namespace: 'ns', creationTimestamp: '2026-03-01T10:00:00Z' },
      spec: {
        audiences: ['https://kubernetes.default.svc.cluster.local'],
        expirationSeconds: 3600,
        boundObjectRef: null,
      },
      status: { token: 'signed.jwt.token', expirationTimestamp: '2026-03-01T11:00:00Z' },
    });
    assert.deepEqual(signed[0], {
      namespace: 'ns',
      name: 'default',
      uid: 'sa-uid',
      pod: undefined,
      node: undefined,
      secret: undefined,
      audiences: ['https://kubernetes.default.svc.cluster.local'],
      expirationSeconds: 3600,
      now: NOW / 1000,
    });
  });

  it('binds to a pod and its node', async () => {
    const { d, signed } = deps();
    const ref = { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'pod-uid' };
    const out = await createTokenRequest(d, 'ns', 'default', {
      spec: { audiences: ['vault'], expirationSeconds: 7200, boundObjectRef: ref },
    });
    assert.deepEqual(out.spec, { audiences: ['vault'], expirationSeconds: 7200, boundObjectRef: ref });
    assert.deepEqual(signed[0].pod, { name: 'web', uid: 'pod-uid' });
    assert.deepEqual(signed[0].node, { name: 'n1', uid: 'node-uid' });
  });

  it('refuses what Kubernetes refuses', async () => {
    const { d } = deps();
    await assert.rejects(
      createTokenRequest(d, 'ns', 'nobody', { spec: {} }),
      (e: any) => e.code === 404 && e.message === 'serviceaccounts "nobody" not found',
    );
    await assert.rejects(createTokenRequest(d, 'ns', 'default', { spec: { expirationSeconds: 60 } }), (e: any) => {
      assert.equal(e.code, 422);
      assert.equal(
        e.message,
        'TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
      );
      return true;
    });
    await assert.rejects(
      createTokenRequest(d, 'ns', 'default', { spec: { expirationSeconds: 2 ** 32 + 1 } }),
      /may not specify a duration larger than 2\^32 seconds/,
    );
    const stale = { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'old' };
    await assert.rejects(createTokenRequest(d, 'ns', 'default', { spec: { boundObjectRef: stale } }), (e: any) => {
      assert.equal(e.code, 409);
      assert.match(
        e.message,
        /the UID in the bound object reference \(old\) does not match the UID in record\. The object might have been deleted and then recreated/,
      );
      return true;
    });
    await assert.rejects(
      createTokenRequest(d, 'ns', 'default', {
        spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'nope' } },
      }),
      (e: any) => e.code === 404,
    );
    await assert.rejects(
      createTokenRequest(d, 'ns', 'default', {
        spec: { boundObjectRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'x' } },
      }),
      (e: any) => {
        assert.equal(e.code, 400);
        assert.equal(e.message, 'cannot bind token to object of type apps/v1, Kind=Deployment');
        return true;
      },
    );
    await assert.rejects(
      createTokenRequest(d, 'ns', 'default', { metadata: { name: 'other' }, spec: {} }),
      /metadata.name: Invalid value: "other": must match the service account name if specified/,
    );
  });

  it('refuses to bind to a pod of another ServiceAccount', async () => {
    const { d } = deps({
      pod: async () => ({ metadata: { name: 'web', uid: 'u' }, spec: { serviceAccountName: 'robot' } }),
    });
    await assert.rejects(
      createTokenRequest(d, 'ns', 'default', {
        spec: { boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web' } },
      }),
      /cannot bind token for serviceaccount "default" to pod running with different serviceaccount name/,
    );
  });
});

describe('bound token validation', () => {
  const claims = (pod?: { name: string; uid: string }): ServiceAccountClaims => ({
    iss: 'i',
    sub: 'system:serviceaccount:ns:default',
    aud: ['a'],
    exp: 0,
    iat: 0,
    nbf: 0,
    jti: 'j',
    'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'default', uid: 'sa-uid' }, ...(pod ? { pod } : {}) },
  });
  const live = (pods: any[], sas = [{ metadata: { name: 'default', uid: 'sa-uid' } }]) => ({
    serviceAccount: (_ns: string, n: string) => sas.find((s) => s.metadata.name === n)?.metadata,
    pod: (_ns: string, n: string) => pods.find((p) => p.metadata.name === n)?.metadata,
    secret: () => undefined,
  });
  it('accepts while the ServiceAccount and the pod stand, then not', () => {
    const now = 1_800_000_000;
    const c = claims({ name: 'web', uid: 'pod-uid' });
    assert.equal(boundTokenStillValid(c, live([{ metadata: { name: 'web', uid: 'pod-uid' } }]), now), true);
    assert.equal(boundTokenStillValid(c, live([]), now), false);
    assert.equal(boundTokenStillValid(c, live([{ metadata: { name: 'web', uid: 'recreated' } }]), now), false);
    const deleting = (s: number) => [
      { metadata: { name: 'web', uid: 'pod-uid', deletionTimestamp: new Date((now - s) * 1000).toISOString() } },
    ];
    assert.equal(boundTokenStillValid(c, live(deleting(30)), now), true);
    assert.equal(boundTokenStillValid(c, live(deleting(120)), now), false);
    assert.equal(boundTokenStillValid(claims(), live([], []), now), false);
    assert.equal(
      boundTokenStillValid(claims(), live([], [{ metadata: { name: 'default', uid: 'other' } }]), now),
      false,
    );
  });
});
