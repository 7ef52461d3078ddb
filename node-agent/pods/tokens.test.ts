import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigError } from './env.ts';
import { requiresRefresh, TokenManager } from './tokens.ts';
import { prepareVolumes } from './volumes.ts';

const pod: KubeObject = {
  metadata: { name: 'web', namespace: 'ns', uid: 'pod-uid' },
  spec: { serviceAccountName: 'robot', containers: [] },
};
const H = 3600_000;

function fakeApi(start = Date.parse('2026-03-01T00:00:00Z')) {
  let now = start;
  let n = 0;
  let fail: Error | undefined;
  const asked: any[] = [];
  const request = async (ns: string, sa: string, body: any) => {
    asked.push({ ns, sa, body });
    if (fail) throw fail;
    const secs = body.spec.expirationSeconds;
    return {
      spec: { ...body.spec },
      status: { token: `token-${++n}`, expirationTimestamp: new Date(now + secs * 1000).toISOString() },
    };
  };
  const tm = new TokenManager(
    request,
    () => now,
    () => 0,
  );
  return { tm, asked, advance: (ms: number) => (now += ms), failWith: (e?: Error) => (fail = e) };
}

describe('token manager', () => {
  it('asks for a token of the pod ServiceAccount bound to the pod, with the audience of the volume', async () => {
    const api = fakeApi();
    assert.equal(await api.tm.token(pod, { audience: 'vault', expirationSeconds: 3607 }), 'token-1');
    assert.deepEqual(api.asked[0], {
      ns: 'ns',
      sa: 'robot',
      body: {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { namespace: 'ns' },
        spec: {
          audiences: ['vault'],
          expirationSeconds: 3607,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: 'web', uid: 'pod-uid' },
        },
      },
    });
    await api.tm.token(pod, { expirationSeconds: 3607 });
    assert.equal(api.asked[1].body.spec.audiences, undefined, 'no audience: the API server gives its own');
  });

  it('refreshes after 80% of the lifetime, or after 24 h for long tokens', async () => {
    const api = fakeApi();
    const src = { expirationSeconds: 3600 };
    assert.equal(await api.tm.token(pod, src), 'token-1');
    api.advance(0.79 * H);
    assert.equal(await api.tm.token(pod, src), 'token-1');
    api.advance(0.02 * H);
    assert.equal(await api.tm.token(pod, src), 'token-2');
    const year = { expirationSeconds: 365 * 24 * 3600 };
    assert.equal(await api.tm.token(pod, year), 'token-3');
    api.advance(23.9 * H);
    assert.equal(await api.tm.token(pod, year), 'token-3');
    api.advance(0.2 * H);
    assert.equal(await api.tm.token(pod, year), 'token-4');
    assert.equal(requiresRefresh({ token: 't', expiresAt: 10 * H, expirationSeconds: 3600 * 10 }, 7.9 * H), false);
    assert.equal(requiresRefresh({ token: 't', expiresAt: 10 * H, expirationSeconds: 3600 * 10 }, 8.1 * H), true);
  });

  it('keeps a valid token when a refresh fails, fails when there is none', async () => {
    const api = fakeApi();
    const src = { expirationSeconds: 3600 };
    await api.tm.token(pod, src);
    api.advance(0.9 * H);
    api.failWith(new Error('serviceaccounts "robot" not found'));
    assert.equal(await api.tm.token(pod, src), 'token-1');
    api.advance(0.2 * H);
    await assert.rejects(api.tm.token(pod, src), /not found/);
    api.tm.forget('pod-uid');
    assert.equal(api.tm.size, 0);
  });

  it('writes the token into a projected volume beside the CA and namespace; a failure is a ConfigError', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-tokens-'));
    try {
      const api = fakeApi();
      const p: KubeObject = {
        ...pod,
        spec: {
          ...pod.spec,
          volumes: [
            {
              name: 'kube-api-access-abcde',
              projected: {
                defaultMode: 0o644,
                sources: [
                  { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
                  { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
                  {
                    downwardAPI: {
                      items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
                    },
                  },
                ],
              },
            },
          ],
        },
      };
      const source = {
        configMap: async () => ({ metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': 'CA' } }) as KubeObject,
        secret: async () => undefined,
        serviceAccountToken: (q: KubeObject, s: any) => api.tm.token(q, s),
      };
      const vols = await prepareVolumes(p, dir, source, {}, {});
      const at = vols.get('kube-api-access-abcde')!.hostPath;
      assert.equal(readFileSync(path.join(at, 'token'), 'utf8'), 'token-1');
      assert.equal(readFileSync(path.join(at, 'ca.crt'), 'utf8'), 'CA');
      assert.equal(readFileSync(path.join(at, 'namespace'), 'utf8'), 'ns');
      assert.equal(statSync(path.join(at, 'token')).mode & 0o777, 0o644);
      api.failWith(new Error('serviceaccounts "robot" not found'));
      api.tm.forget('pod-uid');
      await assert.rejects(
        prepareVolumes(p, dir, source, {}, {}),
        (e: any) =>
          e instanceof ConfigError &&
          /failed to fetch token for volume "kube-api-access-abcde": serviceaccounts "robot" not found/.test(e.message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
