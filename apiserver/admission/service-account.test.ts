import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  admitPodServiceAccount,
  apiAccessVolume,
  SERVICE_ACCOUNT_MOUNT_PATH,
  ServiceAccount,
} from './service-account.ts';
import { attributes } from './testing.ts';

const pod = (spec: any = {}, metadata: any = {}) => ({
  metadata: { name: 'p', ...metadata },
  spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
});
const accounts = (list: any[]) => (ns: string, name: string) =>
  list.find((s) => s.metadata.namespace === ns && s.metadata.name === name);
const fast = { retryDelayMs: () => 1, random: () => 0 };

describe('ServiceAccount admission', () => {
  it('defaults the ServiceAccount and mounts the API credentials in every container', async () => {
    const p = pod({ initContainers: [{ name: 'i', image: 'busybox' }] });
    await admitPodServiceAccount(p, 'ns', accounts([{ metadata: { namespace: 'ns', name: 'default' } }]), fast);
    assert.equal(p.spec.serviceAccountName, 'default');
    assert.equal((p.spec as any).serviceAccount, 'default');
    assert.deepEqual((p.spec as any).volumes, [apiAccessVolume('kube-api-access-bbbbb')]);
    assert.deepEqual((p.spec as any).volumes[0].projected, {
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: 420,
    });
    const mount = { name: 'kube-api-access-bbbbb', readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH };
    assert.deepEqual((p.spec as any).containers[0].volumeMounts, [mount]);
    assert.deepEqual((p.spec as any).initContainers[0].volumeMounts, [mount]);
  });

  it('leaves containers that mount the path already, and adds no volume when none needs it', async () => {
    const own = [{ name: 'mine', mountPath: SERVICE_ACCOUNT_MOUNT_PATH }];
    const p = pod({
      containers: [{ name: 'c', image: 'x', volumeMounts: own }],
      volumes: [{ name: 'mine', emptyDir: {} }],
    });
    await admitPodServiceAccount(p, 'ns', accounts([{ metadata: { namespace: 'ns', name: 'default' } }]), fast);
    assert.deepEqual((p.spec as any).volumes, [{ name: 'mine', emptyDir: {} }]);
    assert.deepEqual((p.spec as any).containers[0].volumeMounts, own);
  });

  it('does not mount when the pod or the ServiceAccount says so; the pod wins', async () => {
    const off = { metadata: { namespace: 'ns', name: 'robot' }, automountServiceAccountToken: false };
    const a = pod({ serviceAccountName: 'robot' });
    await admitPodServiceAccount(a, 'ns', accounts([off]), fast);
    assert.equal((a.spec as any).volumes, undefined);
    const b = pod({ serviceAccountName: 'robot', automountServiceAccountToken: true });
    await admitPodServiceAccount(b, 'ns', accounts([off]), fast);
    assert.equal((b.spec as any).volumes.length, 1);
    const c = pod({ automountServiceAccountToken: false });
    await admitPodServiceAccount(c, 'ns', accounts([{ metadata: { namespace: 'ns', name: 'default' } }]), fast);
    assert.equal((c.spec as any).volumes, undefined);
  });

  it('takes the imagePullSecrets of the ServiceAccount when the pod has none', async () => {
    const p = pod();
    await admitPodServiceAccount(
      p,
      'ns',
      accounts([{ metadata: { namespace: 'ns', name: 'default' }, imagePullSecrets: [{ name: 'reg' }] }]),
      fast,
    );
    assert.deepEqual((p.spec as any).imagePullSecrets, [{ name: 'reg' }]);
  });

  it('refuses a pod whose ServiceAccount does not exist, after waiting a little for "default"', async () => {
    let calls = 0;
    const lookup = () => {
      calls++;
      return undefined;
    };
    await assert.rejects(admitPodServiceAccount(pod(), 'shop', lookup, fast), (e: any) => {
      assert.equal(e.code, 403);
      assert.equal(e.reason, 'Forbidden');
      assert.equal(
        e.message,
        'pods "p" is forbidden: error looking up service account shop/default: serviceaccount "default" not found',
      );
      return true;
    });
    assert.equal(calls, 10);
    calls = 0;
    await assert.rejects(
      admitPodServiceAccount(pod({ serviceAccountName: 'robot' }), 'shop', lookup, fast),
      /error looking up service account shop\/robot: serviceaccount "robot" not found/,
    );
    assert.equal(calls, 1);
  });

  it('admits "default" once it shows up during the wait', async () => {
    let calls = 0;
    const p = pod();
    await admitPodServiceAccount(p, 'ns', () => (++calls >= 3 ? { metadata: { name: 'default' } } : undefined), fast);
    assert.equal(p.spec.serviceAccountName, 'default');
  });

  it('leaves mirror pods alone', async () => {
    const p = pod({}, { annotations: { 'kubernetes.io/config.mirror': 'x' } });
    await admitPodServiceAccount(p, 'ns', () => undefined, fast);
    assert.equal((p.spec as any).serviceAccountName, undefined);
  });
});

describe('the ServiceAccount plugin', () => {
  it('admits new pods, not their subresources nor other resources', async () => {
    const plugin = new ServiceAccount(accounts([{ metadata: { namespace: 'ns', name: 'default' } }]), fast);
    assert.equal(plugin.handles('UPDATE'), false);
    const p = pod();
    await plugin.admit(attributes({ object: p }));
    assert.equal(p.spec.serviceAccountName, 'default');
    const binding = pod();
    await plugin.admit(attributes({ object: binding, subresource: 'binding' }));
    assert.equal((binding.spec as any).serviceAccountName, undefined);
  });
});
