/**
 * In-cluster access to the API, as Kubernetes pods have it: a real `skiff server` with its node agent; a busybox pod
 * finds its ServiceAccount token, the cluster CA and its namespace under /var/run/secrets/kubernetes.io/serviceaccount,
 * and KUBERNETES_SERVICE_HOST/PORT in its environment, and lists pods through the `kubernetes` ClusterIP with its
 * token. `kubectl create token` gives a token that authenticates; a token bound to a pod stops working once the pod
 * is gone. The default ServiceAccount and kube-root-ca.crt come to a new namespace by themselves.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { kubectl, kubectlOk } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';
import { inPod } from './harness/pods.ts';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { ConfigMaps, Pods, ServiceAccounts } from '../lib/kube/resources.ts';

const missing =
  process.getuid?.() !== 0
    ? 'not root'
    : !existsSync('/usr/bin/containerd')
      ? 'containerd is not installed'
      : !existsSync('/usr/bin/kubectl')
        ? 'kubectl is not installed'
        : '';
const suffix = Math.random().toString(36).slice(2, 7);
const NODE = `incluster-${suffix}`;
const BRIDGE = `skc${suffix}`;
const DNS = `169.254.23.${1 + Math.floor(Math.random() * 250)}`;
// ranges of this run only: clusters of tests running side by side share the host's iptables
const SERVICE_CIDR = `10.${100 + Math.floor(Math.random() * 40)}.0.0/16`;
const CLUSTER_CIDR = `10.${200 + Math.floor(Math.random() * 40)}.0.0/16`;
const BUSYBOX = 'skiff.local/busybox:1.35';
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const KUBECTL = '/usr/bin/kubectl';

/** whether a TCP connection to the address opens (within a bound for one that hangs) */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port, timeout: 5000 });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

describe('in-cluster API access', { skip: missing || undefined }, () => {
  let s: SkiffProcess;
  let c: Client;

  /** for scripts run with inPod, in the default namespace: the host's kubectl (a static binary) is mounted at /kubectl */
  const scriptPod = {
    image: BUSYBOX,
    spec: {
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'kubectl', hostPath: { path: KUBECTL, type: 'File' } }],
    },
    container: {
      env: [{ name: 'HOME', value: '/tmp' }],
      volumeMounts: [{ name: 'kubectl', mountPath: '/kubectl', readOnly: true }],
    },
    timeoutMs: 90_000,
  };

  before(async () => {
    // the API server listens on the host's addresses: the kubernetes Service forwards pods to one of them
    s = await startSkiff({
      agent: true,
      args: [
        '--bind-address',
        '0.0.0.0',
        '--node-name',
        NODE,
        '--bridge',
        BRIDGE,
        '--cluster-cidr',
        CLUSTER_CIDR,
        '--service-cidr',
        SERVICE_CIDR,
        '--cluster-dns',
        DNS,
      ],
    });
    c = await Client.fromKubeconfig(s.kubeconfig);
    // the pods below need the default ServiceAccount (its controller makes it after the start) and the node's rules
    // for the kubernetes Service (its proxy writes them once it has seen the Service): wait for both
    await eventually('the default ServiceAccount', () => c.get(ServiceAccounts, 'default', 'default'), 60_000);
    const vip = kubectlOk(s.kubeconfig, ['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}']);
    await eventually('the kubernetes ClusterIP takes connections', () => connects(vip, 443), 60_000);
  });

  after(async () => {
    c?.close();
    if (!s) return;
    const code = await s.stop();
    s.cleanup();
    assert.equal(code, 0, s.output());
  });

  it('the kubernetes Service has endpoints: the API server address and port', () => {
    const slice = JSON.parse(kubectlOk(s.kubeconfig, ['get', 'endpointslice', 'kubernetes', '-o', 'json']));
    assert.equal(slice.metadata.labels['kubernetes.io/service-name'], 'kubernetes');
    assert.equal(slice.ports[0].port, s.port);
    assert.equal(slice.endpoints.length, 1);
    const ep = JSON.parse(kubectlOk(s.kubeconfig, ['get', 'endpoints', 'kubernetes', '-o', 'json']));
    assert.equal(ep.subsets[0].ports[0].port, s.port);
    assert.equal(ep.subsets[0].addresses[0].ip, slice.endpoints[0].addresses[0]);
  });

  it('kubectl in a pod uses its in-cluster config: token and CA through the kubernetes ClusterIP', async () => {
    // busybox wget cannot talk TLS to the API server (its own TLS offers no signature algorithm that an ECDSA
    // certificate served by OpenSSL 3 accepts), so the real kubectl runs in the pod, as `kubectl` inside a pod does:
    // https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT, the projected token, the CA verified
    const script = [
      `cd ${SA_DIR}`,
      'echo "ns=$(cat namespace)"',
      'echo "host=$KUBERNETES_SERVICE_HOST port=$KUBERNETES_SERVICE_PORT"',
      'echo "token=$(head -c 3 token)"',
      // no flags that change the client configuration: kubectl only falls back to the in-cluster one without them
      'timeout 30 /kubectl get pods -o name; echo "get=$?"',
    ].join('; ');
    const { pod, out } = await inPod(c, 'reader', script, scriptPod);
    assert.equal(pod.spec.serviceAccountName, 'default');
    const vol = pod.spec.volumes.find((v: any) => v.name.startsWith('kube-api-access-'));
    assert.ok(vol, 'the admission added the API access volume');
    assert.deepEqual(pod.spec.containers[0].volumeMounts[1], { name: vol.name, readOnly: true, mountPath: SA_DIR });
    assert.match(out, /^ns=default$/m, out);
    const vip = kubectlOk(s.kubeconfig, ['get', 'svc', 'kubernetes', '-o', 'jsonpath={.spec.clusterIP}']);
    assert.match(out, new RegExp(`^host=${vip.replace(/\./g, '\\.')} port=443$`, 'm'), out);
    assert.match(out, /^token=eyJ$/m, out);
    assert.match(out, /^pod\/reader$/m, out);
    assert.match(out, /^get=0$/m, out);
  });

  it('the projected ca.crt is the cluster CA', async () => {
    const { out } = await inPod(c, 'ca', `cat ${SA_DIR}/ca.crt`, scriptPod);
    const ca = readFileSync(path.join(s.dataDir, 'pki', 'ca.crt'), 'utf8');
    assert.equal(out.trim(), ca.trim());
  });

  it('kubectl create token gives a token that authenticates; 10 minutes at least; 404 for a missing account', () => {
    const token = kubectlOk(s.kubeconfig, ['create', 'token', 'default']).trim();
    assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.equal(claims.exp - claims.iat, 3600);
    const server = `https://127.0.0.1:${s.port}`;
    const asToken = (t: string, ...args: string[]) =>
      kubectl('/dev/null', ['--server', server, '--insecure-skip-tls-verify', '--token', t, ...args]);
    const got = asToken(token, 'get', 'pods', '-o', 'name');
    assert.equal(got.code, 0, got.stderr);
    assert.notEqual(asToken(token.slice(0, -4) + 'AAAA', 'get', 'pods').code, 0);
    const short = kubectl(s.kubeconfig, ['create', 'token', 'default', '--duration', '1m']);
    assert.match(
      short.stderr,
      /spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes/,
    );
    const none = kubectl(s.kubeconfig, ['create', 'token', 'nobody']);
    assert.match(none.stderr, /serviceaccounts "nobody" not found/);
  });

  it('a token bound to a pod stops authenticating once the pod is gone', async () => {
    await c.create(Pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bound', namespace: 'default' },
      spec: { nodeName: 'nowhere', containers: [{ name: 'c', image: BUSYBOX }] },
    });
    const uid = (await c.get<KubeObject>(Pods, 'default', 'bound')).metadata.uid!;
    const token = kubectlOk(s.kubeconfig, [
      'create',
      'token',
      'default',
      '--bound-object-kind',
      'Pod',
      '--bound-object-name',
      'bound',
      '--bound-object-uid',
      uid,
    ]).trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.deepEqual(claims['kubernetes.io'].pod, { name: 'bound', uid });
    const server = `https://127.0.0.1:${s.port}`;
    const asToken = () =>
      kubectl('/dev/null', [
        '--server',
        server,
        '--insecure-skip-tls-verify',
        '--token',
        token,
        'get',
        'pods',
        '-o',
        'name',
      ]);
    assert.equal(asToken().code, 0);
    await c.delete(Pods, 'default', 'bound', { gracePeriodSeconds: 0 });
    await eventually('the token is refused', async () => asToken().code !== 0, 60_000, 200);
    assert.match(asToken().stderr, /Unauthorized|must be logged in/);
  });

  it('a new namespace gets its default ServiceAccount and kube-root-ca.crt; both come back when deleted or edited', async () => {
    kubectlOk(s.kubeconfig, ['create', 'namespace', 'fresh']);
    await eventually(
      'default ServiceAccount',
      async () => !!(await c.get(ServiceAccounts, 'fresh', 'default').catch(() => undefined)),
      60_000,
      100,
    );
    const ca = readFileSync(path.join(s.dataDir, 'pki', 'ca.crt'), 'utf8');
    await eventually(
      'kube-root-ca.crt',
      async () =>
        (await c.get<KubeObject>(ConfigMaps, 'fresh', 'kube-root-ca.crt').catch(() => undefined))?.data?.['ca.crt'] ===
        ca,
      60_000,
      100,
    );
    kubectlOk(s.kubeconfig, ['-n', 'fresh', 'delete', 'sa', 'default']);
    await eventually(
      'default ServiceAccount again',
      async () => !!(await c.get(ServiceAccounts, 'fresh', 'default').catch(() => undefined)),
      60_000,
      100,
    );
    kubectlOk(s.kubeconfig, [
      '-n',
      'fresh',
      'patch',
      'cm',
      'kube-root-ca.crt',
      '--type',
      'merge',
      '-p',
      '{"data":{"ca.crt":"tampered"}}',
    ]);
    await eventually(
      'kube-root-ca.crt restored',
      async () => (await c.get<KubeObject>(ConfigMaps, 'fresh', 'kube-root-ca.crt')).data?.['ca.crt'] === ca,
      60_000,
      100,
    );
    const refused = kubectl(s.kubeconfig, [
      '-n',
      'fresh',
      'run',
      'p',
      '--image',
      BUSYBOX,
      '--overrides',
      '{"spec":{"serviceAccountName":"robot"}}',
    ]);
    assert.match(
      refused.stderr,
      /pods "p" is forbidden: error looking up service account fresh\/robot: serviceaccount "robot" not found/,
    );
  });
});
