/**
 * The node agent against the real thing: `skiff server` with its agent running pods on containerd + runc with CNI
 * networking, driven with real kubectl. Covers a Deployment whose pods answer HTTP from the host, crash-loop back-off,
 * readiness and liveness probes, env / ConfigMap / Secret / downward API inside the container, a memory limit
 * enforced by the kernel (OOMKilled), graceful deletion, and a kill -9 of the agent that adopts running pods.
 * Skipped, saying why, where containerd or root is missing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { kubectl, kubectlOk, kubectlStart } from './harness/kubectl.ts';
import { CriClient } from '../node-agent/cri/client.ts';
import { eventually } from './harness/eventually.ts';
import { registryMissing, startRegistry, type Registry } from './harness/registry.ts';
import { Client } from '../lib/kube/client.ts';
import { isNotFound } from '../lib/kube/api.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Pods } from '../lib/kube/resources.ts';

const missing =
  process.getuid?.() !== 0
    ? 'not root'
    : !existsSync('/usr/bin/containerd')
      ? 'containerd is not installed (apt-get install -y containerd runc containernetworking-plugins)'
      : '';
const BUSYBOX = `skiff.local/busybox:${/v(\d+\.\d+\.\d+)/.exec(existsSync('/bin/busybox') ? execFileSync('/bin/busybox', [], { encoding: 'utf8' }) : '')?.[1] ?? 'latest'}`;
const NS = 'default';
const suffix = Math.random().toString(36).slice(2, 7);
const NODE = `agent-e2e-${suffix}`;
const BRIDGE = `ska${suffix}`;
const HOST_PORT = 20000 + Math.floor(Math.random() * 10000);
const CLUSTER_DNS = `169.254.21.${1 + Math.floor(Math.random() * 250)}`;
// Service and pod ranges of this run only: clusters of tests running side by side share the host's iptables
const SERVICE_CIDR = `10.${20 + Math.floor(Math.random() * 40)}.0.0/16`;
const CLUSTER_CIDR = `10.${200 + Math.floor(Math.random() * 50)}.0.0/16`;

/** pids of the processes whose command line mentions `text` */
function processesWith(text: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  });
}

function podOf(name: string, spec: any, labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: NS, labels }, spec };
}

const container = (command: string, extra: any = {}) => ({
  name: 'c',
  image: BUSYBOX,
  command: ['sh', '-c', command],
  ...extra,
});

describe('node agent: real pods on containerd', { skip: missing || undefined }, () => {
  let s: SkiffProcess;
  let c: Client;
  let registry: Registry | undefined;
  const get = (name: string) => c.get<KubeObject>(Pods, NS, name);
  const cstatus = async (name: string) => (await get(name)).status?.containerStatuses?.[0];

  before(async () => {
    if (!registryMissing()) registry = await startRegistry();
    s = await startSkiff({
      agent: true,
      args: [
        '--node-name',
        NODE,
        '--bridge',
        BRIDGE,
        '--cluster-cidr',
        CLUSTER_CIDR,
        '--service-cidr',
        SERVICE_CIDR,
        '--cluster-dns',
        CLUSTER_DNS,
        ...(registry ? ['--registry', `registry.skiff.test=http://${registry.host}`] : []),
      ],
    });
    c = await Client.fromKubeconfig(s.kubeconfig);
    await eventually(
      'the node is Ready',
      async () => {
        const out = kubectlOk(s.kubeconfig, [
          'get',
          'node',
          NODE,
          '-o',
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ]);
        return out === 'True';
      },
      90_000,
      200,
    );
  });

  after(async () => {
    c?.close();
    await registry?.stop();
    if (!s) return;
    const code = await s.stop();
    // everything the agent started is gone: its containerd, the pods' cgroups, the bridge, the masquerade chain
    const containerd = processesWith(`${s.dataDir}/agent/containerd/`).join(' ');
    const bridge = execFileSync('sh', ['-c', `ip link show ${BRIDGE} 2>/dev/null || true`], {
      encoding: 'utf8',
    }).trim();
    const cgroups = existsSync(`/sys/fs/cgroup/memory/skiff/${NODE}`)
      ? execFileSync('ls', [`/sys/fs/cgroup/memory/skiff/${NODE}`], { encoding: 'utf8' })
          .split('\n')
          .filter((l) => l.startsWith('pod'))
      : [];
    s.cleanup();
    assert.equal(code, 0, s.output());
    assert.match(s.output(), /stopped cleanly/);
    assert.equal(containerd, '', 'containerd still runs after the server stopped');
    assert.equal(bridge, '', `bridge ${BRIDGE} left behind`);
    assert.deepEqual(cgroups, [], 'pod cgroups left behind');
    assert.ok(
      !execFileSync('ip', ['-o', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).includes(`${CLUSTER_DNS}/`),
      'the DNS address is left on lo',
    );
  });

  it('runs skiff with jemalloc and keeps it from the programs it starts (containerd)', () => {
    const maps = (pid: number | string) => readFileSync(`/proc/${pid}/maps`, 'utf8');
    assert.match(
      maps(s.child.pid!),
      /libjemalloc\.so/,
      'skiff server runs without jemalloc: is libjemalloc2 installed?',
    );
    const [containerd] = processesWith(`${s.dataDir}/agent/containerd/`);
    assert.ok(containerd, 'containerd of the agent not found');
    assert.doesNotMatch(maps(containerd), /libjemalloc/);
    assert.doesNotMatch(readFileSync(`/proc/${containerd}/environ`, 'utf8'), /LD_PRELOAD|SKIFF_PRELOAD/);
  });

  it('runs a Deployment whose pods answer HTTP on their pod IPs, with node facts in the Node object', async () => {
    kubectlOk(s.kubeconfig, ['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', namespace: NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'httpd',
                  image: BUSYBOX,
                  command: [
                    'sh',
                    '-c',
                    'echo "hello from $(hostname)" > /tmp/index.html; exec httpd -f -p 8080 -h /tmp',
                  ],
                  ports: [{ containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      }),
    });
    kubectlOk(s.kubeconfig, ['rollout', 'status', 'deployment/web', '--timeout=100s']);
    const pods = (await c.list<KubeObject>(Pods, { namespace: NS, labelSelector: 'app=web' })).items;
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.equal(p.status.phase, 'Running');
      assert.equal(p.spec.nodeName, NODE);
      const ip = p.status.podIP;
      assert.ok(ip && ip !== p.status.hostIP, `pod IP ${ip}`);
      const body = await (await fetch(`http://${ip}:8080/index.html`)).text();
      assert.equal(body.trim(), `hello from ${p.metadata.name}`);
      const cs = p.status.containerStatuses[0];
      assert.match(cs.containerID, /^containerd:\/\/[0-9a-f]{64}$/);
      assert.equal(cs.ready, true);
      assert.ok(cs.state.running.startedAt);
      const types = p.status.conditions.map((x: any) => `${x.type}=${x.status}`).sort();
      assert.deepEqual(types, [
        'ContainersReady=True',
        'Initialized=True',
        'PodReadyToStartContainers=True',
        'PodScheduled=True',
        'Ready=True',
      ]);
    }
    const node = JSON.parse(kubectlOk(s.kubeconfig, ['get', 'node', NODE, '-o', 'json']));
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.equal(node.status.capacity.pods, '110');
    assert.ok(Number(node.status.capacity.cpu) >= 1);
    assert.ok(
      node.status.images.some((i: any) => i.names.includes(BUSYBOX)),
      'images present are reported',
    );
    const lease = JSON.parse(kubectlOk(s.kubeconfig, ['get', 'lease', '-n', 'kube-node-lease', NODE, '-o', 'json']));
    assert.equal(lease.spec.holderIdentity, NODE);
  });

  it('passes env, ConfigMap, Secret and downward API volumes into the container, and init containers run first', async () => {
    kubectlOk(s.kubeconfig, ['create', 'configmap', 'cfg', '--from-literal=greeting=hello']);
    kubectlOk(s.kubeconfig, ['create', 'secret', 'generic', 'sec', '--from-literal=password=s3cret']);
    await c.create(
      Pods,
      podOf('envy', {
        restartPolicy: 'Never',
        initContainers: [
          {
            name: 'init',
            image: BUSYBOX,
            command: ['sh', '-c', 'echo ran > /work/init'],
            volumeMounts: [{ name: 'work', mountPath: '/work' }],
          },
        ],
        containers: [
          container(
            'echo "$(cat /work/init) $GREETING $PASS $NODE $MEM $FROMCM_greeting $(cat /cfg/greeting) $(cat /sec/password) $(cat /dw/name)" > /dev/termination-log',
            {
              env: [
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } },
                { name: 'PASS', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
                { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
              ],
              envFrom: [{ prefix: 'FROMCM_', configMapRef: { name: 'cfg' } }],
              resources: { limits: { memory: '48Mi' } },
              volumeMounts: [
                { name: 'work', mountPath: '/work' },
                { name: 'cfg', mountPath: '/cfg' },
                { name: 'sec', mountPath: '/sec' },
                { name: 'dw', mountPath: '/dw' },
              ],
            },
          ),
        ],
        volumes: [
          { name: 'work', emptyDir: {} },
          { name: 'cfg', configMap: { name: 'cfg' } },
          { name: 'sec', secret: { secretName: 'sec' } },
          { name: 'dw', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
        ],
      }),
    );
    const p = await eventually(
      'pod envy Succeeded',
      async () => {
        const p = await get('envy');
        return p.status?.phase === 'Succeeded' && p;
      },
      60_000,
    );
    const term = p.status.containerStatuses[0].state.terminated;
    assert.equal(term.reason, 'Completed');
    assert.equal(term.message.trim(), `ran hello s3cret ${NODE} 48 hello hello s3cret envy`);
    assert.equal(p.status.initContainerStatuses[0].state.terminated.exitCode, 0);
  });

  it('applies the security context, host networking and host ports', async () => {
    await c.create(
      Pods,
      podOf('secure', {
        restartPolicy: 'Never',
        securityContext: { runAsUser: 1000, runAsGroup: 3000 },
        containers: [
          container('echo "$(id -u) $(id -g) $(touch /x 2>/dev/null && echo rw || echo ro)" > /dev/termination-log', {
            securityContext: { readOnlyRootFilesystem: true },
          }),
        ],
      }),
    );
    await c.create(
      Pods,
      podOf('hostnet', { hostNetwork: true, terminationGracePeriodSeconds: 1, containers: [container('sleep 1000')] }),
    );
    await c.create(
      Pods,
      podOf('hostport', {
        terminationGracePeriodSeconds: 1,
        containers: [
          container('echo hostport > /tmp/i; exec httpd -f -p 8080 -h /tmp', {
            ports: [{ containerPort: 8080, hostPort: HOST_PORT }],
          }),
        ],
      }),
    );
    const secure = await eventually(
      'secure Succeeded',
      async () => {
        const p = await get('secure');
        return p.status?.phase === 'Succeeded' && p;
      },
      60_000,
    );
    assert.equal(secure.status.containerStatuses[0].state.terminated.message.trim(), '1000 3000 ro');
    const hostnet = await eventually(
      'hostnet running',
      async () => {
        const p = await get('hostnet');
        return p.status?.containerStatuses?.[0]?.state?.running && p;
      },
      60_000,
    );
    assert.equal(hostnet.status.podIP, hostnet.status.hostIP, "a hostNetwork pod has the node's address");
    const hp = await eventually(
      'hostport running',
      async () => {
        const p = await get('hostport');
        return p.status?.containerStatuses?.[0]?.state?.running && p;
      },
      60_000,
    );
    const body = await eventually(
      'the host port answers',
      async () => (await fetch(`http://${hp.status.hostIP}:${HOST_PORT}/i`)).text(),
      60_000,
      200,
    );
    assert.equal(body.trim(), 'hostport');
    for (const n of ['secure', 'hostnet', 'hostport']) await c.delete(Pods, NS, n, { gracePeriodSeconds: 0 });
  });

  it('a missing ConfigMap is CreateContainerConfigError naming it', async () => {
    await c.create(
      Pods,
      podOf('nocm', {
        containers: [
          container('sleep 1000', { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }),
        ],
      }),
    );
    const w = await eventually(
      'CreateContainerConfigError',
      async () =>
        (await cstatus('nocm'))?.state?.waiting?.reason === 'CreateContainerConfigError' &&
        (await cstatus('nocm')).state.waiting,
      60_000,
    );
    assert.equal(w.message, 'configmap "nope" not found');
    await c.delete(Pods, NS, 'nocm', { gracePeriodSeconds: 0 });
  });

  it('restarts a crashing container with growing back-off and shows CrashLoopBackOff', async () => {
    await c.create(Pods, podOf('crash', { containers: [container('echo dying; exit 3')] }));
    // the back-off each waiting state announces, by the restart count it waits after (a 10 s back-off or more is
    // long enough to be seen however busy the machine)
    const backoffs = new Map<number, string>();
    const cs = await eventually(
      'CrashLoopBackOff after the second restart',
      async () => {
        const cs = await cstatus('crash');
        const waiting = cs?.state?.waiting;
        if (waiting?.reason !== 'CrashLoopBackOff') return false;
        backoffs.set(cs.restartCount, /^back-off (\d+)s /.exec(waiting.message)?.[1] ?? waiting.message);
        return cs.restartCount >= 2 && cs;
      },
      120_000,
      100,
    );
    assert.equal(cs.lastState.terminated.exitCode, 3);
    assert.equal(cs.lastState.terminated.reason, 'Error');
    assert.match(cs.state.waiting.message, /^back-off \d+s restarting failed container=c pod=crash_default/);
    // the first restart comes at once (no back-off before it), then 10 s doubling
    assert.equal(backoffs.get(0), undefined, 'the first restart waits for no back-off');
    for (const [restarts, seconds] of backoffs)
      assert.equal(seconds, String(10 * 2 ** (restarts - 1)), `back-off after ${restarts} restarts`);
    const events = await eventually(
      'a BackOff event',
      () => {
        const out = kubectlOk(s.kubeconfig, [
          'get',
          'events',
          '--field-selector',
          'involvedObject.name=crash',
          '-o',
          'jsonpath={.items[*].reason}',
        ]);
        return /BackOff/.test(out) && out;
      },
      60_000,
      200,
    );
    assert.match(events, /BackOff/);
    await c.delete(Pods, NS, 'crash', { gracePeriodSeconds: 0 });
  });

  it('keeps a pod whose readiness probe fails out of Ready, and restarts one whose liveness probe fails', async () => {
    await c.create(
      Pods,
      podOf('unready', {
        containers: [container('sleep 1000', { readinessProbe: { exec: { command: ['false'] }, periodSeconds: 1 } })],
      }),
    );
    await c.create(
      Pods,
      podOf('unlive', {
        terminationGracePeriodSeconds: 1,
        containers: [
          container('touch /tmp/ok; sleep 3; rm /tmp/ok; sleep 1000', {
            livenessProbe: { exec: { command: ['cat', '/tmp/ok'] }, periodSeconds: 1, failureThreshold: 2 },
          }),
        ],
      }),
    );
    const restarted = await eventually(
      'liveness restart',
      async () => {
        const cs = await cstatus('unlive');
        return cs?.restartCount >= 1 && cs;
      },
      60_000,
    );
    assert.ok(restarted.lastState.terminated, 'the killed attempt is the last state');
    // the two pods start independently: the unready one may still be starting
    const p = await eventually('unready running', async () => {
      const p = await get('unready');
      return p.status?.containerStatuses?.[0]?.state?.running && p;
    });
    assert.equal(p.status.phase, 'Running');
    assert.equal(p.status.containerStatuses[0].ready, false);
    assert.equal(p.status.conditions.find((x: any) => x.type === 'Ready').status, 'False');
    await eventually(
      'a Liveness probe failed event',
      () =>
        /Liveness probe failed/.test(
          kubectlOk(s.kubeconfig, [
            'get',
            'events',
            '--field-selector',
            'involvedObject.name=unlive',
            '-o',
            'jsonpath={.items[*].message}',
          ]),
        ),
      60_000,
      200,
    );
    await c.delete(Pods, NS, 'unready', { gracePeriodSeconds: 0 });
    await c.delete(Pods, NS, 'unlive', { gracePeriodSeconds: 0 });
  });

  it('enforces a memory limit in the pod cgroup: the container is OOMKilled', async () => {
    await c.create(
      Pods,
      podOf('oom', {
        restartPolicy: 'Never',
        containers: [
          container(
            'cat /sys/fs/cgroup/memory/memory.limit_in_bytes > /dev/termination-log; x=0123456789abcdef; while true; do x=$x$x; done',
            { resources: { limits: { memory: '32Mi' } } },
          ),
        ],
      }),
    );
    const p = await eventually(
      'OOMKilled',
      async () => {
        const p = await get('oom');
        return p.status?.phase === 'Failed' && p;
      },
      60_000,
    );
    const t = p.status.containerStatuses[0].state.terminated;
    assert.equal(t.reason, 'OOMKilled');
    assert.equal(t.exitCode, 137);
    assert.equal(t.message.trim(), String(32 * 1024 * 1024));
    // the pod-level cgroup carries the pod's limit too
    const limit = readFileSync(
      `/sys/fs/cgroup/memory/skiff/${NODE}/pod${p.metadata.uid}/memory.limit_in_bytes`,
      'utf8',
    ).trim();
    assert.equal(limit, String(32 * 1024 * 1024));
  });

  it('deletes gracefully: SIGTERM and the grace period, then SIGKILL', async () => {
    // traps SIGTERM and needs 2 s to finish: deletion waits for it, and no longer (its grace period is an hour)
    await c.create(
      Pods,
      podOf('polite', {
        terminationGracePeriodSeconds: 3600,
        containers: [container("trap 'sleep 2; exit 0' TERM; while true; do sleep 0.2; done")],
      }),
    );
    // ignores SIGTERM: killed when its 2 s grace period ends
    await c.create(
      Pods,
      podOf('stubborn', {
        terminationGracePeriodSeconds: 2,
        containers: [container("trap '' TERM; while true; do sleep 0.2; done")],
      }),
    );
    for (const n of ['polite', 'stubborn'])
      await eventually(`${n} running`, async () => (await cstatus(n))?.state?.running, 60_000);
    const gone = async (n: string) => {
      const t0 = Date.now();
      await c.delete(Pods, NS, n);
      await eventually(
        `${n} deleted`,
        async () => {
          try {
            await get(n);
            return false;
          } catch (e) {
            return isNotFound(e);
          }
        },
        120_000,
        50,
      );
      return Date.now() - t0;
    };
    // (lower bounds only: a busy machine makes everything later, never sooner; the polite pod going well within the
    // wait, far from its hour of grace, shows the deletion ended with its process)
    const [polite, stubborn] = await Promise.all([gone('polite'), gone('stubborn')]);
    assert.ok(polite >= 1800, `polite pod went after ${polite} ms, before its TERM handler ended`);
    assert.ok(stubborn >= 1800, `stubborn pod went after ${stubborn} ms, before its grace period ended`);
  });

  it(
    'pulls images from a registry over plain HTTP, by address and by a name mapped with --registry; a missing image backs off',
    { skip: registryMissing() },
    async () => {
      registry!.push(`${s.dataDir}/agent/images/busybox.tar`, 'skiff/busybox:e2e', BUSYBOX.split(':')[1]);
      await c.create(
        Pods,
        podOf('pulled', {
          restartPolicy: 'Never',
          containers: [
            container('echo pulled > /dev/termination-log', { image: `${registry!.host}/skiff/busybox:e2e` }),
          ],
        }),
      );
      await c.create(
        Pods,
        podOf('mapped', {
          restartPolicy: 'Never',
          containers: [
            container('echo mapped > /dev/termination-log', { image: 'registry.skiff.test/skiff/busybox:e2e' }),
          ],
        }),
      );
      await c.create(
        Pods,
        podOf('nosuch', { containers: [container('true', { image: `${registry!.host}/skiff/nosuch:1` })] }),
      );
      for (const n of ['pulled', 'mapped']) {
        const p = await eventually(
          `${n} Succeeded`,
          async () => {
            const p = await get(n);
            return p.status?.phase === 'Succeeded' && p;
          },
          60_000,
        );
        assert.equal(p.status.containerStatuses[0].state.terminated.message.trim(), n);
      }
      const pulled = kubectlOk(s.kubeconfig, [
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=pulled',
        '-o',
        'jsonpath={.items[*].message}',
      ]);
      assert.match(pulled, /Successfully pulled image/);
      const w = await eventually(
        'ImagePullBackOff',
        async () => {
          const cs = await cstatus('nosuch');
          return cs?.state?.waiting?.reason === 'ImagePullBackOff' && cs.state.waiting;
        },
        60_000,
      );
      assert.match(w.message, /Back-off pulling image/);
      for (const n of ['pulled', 'mapped', 'nosuch']) await c.delete(Pods, NS, n, { gracePeriodSeconds: 0 });
    },
  );

  it('kubectl logs (tail, timestamps, follow, previous) and exec (exit code, stdin, tty) reach the container', async () => {
    await c.create(
      Pods,
      podOf('talk', {
        terminationGracePeriodSeconds: 1,
        containers: [container('i=0; while true; do echo line $i; i=$((i+1)); sleep 0.5; done')],
      }),
    );
    await eventually(
      'talk has logged 3 lines',
      () => kubectl(s.kubeconfig, ['logs', 'talk']).stdout.split('\n').length > 3,
      60_000,
      200,
    );
    assert.deepEqual(kubectlOk(s.kubeconfig, ['logs', 'talk']).split('\n').slice(0, 3), ['line 0', 'line 1', 'line 2']);
    const tail = kubectlOk(s.kubeconfig, ['logs', 'talk', '--tail=2', '--timestamps']).trim().split('\n');
    assert.equal(tail.length, 2);
    assert.match(tail[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line \d+$/);
    // follow: lines written after the request arrive on the open stream, in order, until kubectl is stopped
    const following = kubectlStart(s.kubeconfig, ['logs', '-f', 'talk', '--tail=1']);
    await following.printed(/^(line \d+\n){3}/);
    following.kill();
    const followed = (await following.done).stdout
      .trim()
      .split('\n')
      .map((l) => Number(l.replace('line ', '')));
    followed.forEach((n, i) => assert.equal(n, followed[0] + i, `follow gave: ${followed.join(' ')}`));
    const prev = kubectl(s.kubeconfig, ['logs', 'talk', '--previous']);
    assert.notEqual(prev.code, 0);
    assert.match(prev.stderr, /previous terminated container "c" in pod "talk" not found/);
    const ex = kubectl(s.kubeconfig, ['exec', 'talk', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(ex.code, 3);
    assert.equal(ex.stdout, 'out\n');
    assert.match(ex.stderr, /err/);
    assert.equal(
      kubectlOk(s.kubeconfig, ['exec', '-i', 'talk', '--', 'head', '-1'], { input: 'from stdin\nmore\n' }),
      'from stdin\n',
    );
    // a second attempt of a crashing container: --previous shows the first one's output
    await c.create(
      Pods,
      podOf('twice', { containers: [container('echo attempt $(cat /proc/sys/kernel/random/uuid); exit 1')] }),
    );
    await eventually('twice restarted', async () => (await cstatus('twice'))?.restartCount >= 1, 60_000, 200);
    const before = kubectlOk(s.kubeconfig, ['logs', 'twice', '--previous']);
    assert.match(before, /^attempt [0-9a-f-]{36}\n$/);
    const waiting = kubectl(s.kubeconfig, ['logs', 'nocm-missing-pod']);
    assert.match(waiting.stderr, /not found/);
    for (const n of ['talk', 'twice']) await c.delete(Pods, NS, n, { gracePeriodSeconds: 0 });
  });

  it('kubectl port-forward reaches a pod port, over a WebSocket tunnel (kubectl 1.33) and plain SPDY (kubectl 1.29)', async () => {
    await c.create(
      Pods,
      podOf('pf', {
        terminationGracePeriodSeconds: 1,
        containers: [container('echo forwarded > /tmp/i; exec httpd -f -p 8080 -h /tmp')],
      }),
    );
    await eventually('pf running', async () => (await cstatus('pf'))?.state?.running, 60_000, 200);
    const versions: [string, string | undefined][] = [
      ['default', undefined],
      ['1.29', '/usr/lib/google-cloud-sdk/bin/kubectl.1.29'],
    ];
    for (const [name, bin] of versions) {
      if (bin && !existsSync(bin)) continue;
      const port = 21000 + Math.floor(Math.random() * 9000);
      // kubectl forwards until the test is done with the port
      const pf = kubectlStart(s.kubeconfig, ['port-forward', 'pod/pf', `${port}:8080`], { bin });
      const body = await eventually(
        `the forwarded port answers (kubectl ${name})`,
        async () => (await fetch(`http://127.0.0.1:${port}/i`)).text(),
        60_000,
        200,
      ).catch(async (e: unknown) => {
        pf.kill();
        const r = await pf.done;
        throw new Error(`${(e as Error).message}; kubectl port-forward (${r.code}): ${r.stdout}${r.stderr}`);
      });
      assert.equal(body.trim(), 'forwarded');
      assert.equal(
        (await (await fetch(`http://127.0.0.1:${port}/i`)).text()).trim(),
        'forwarded',
        'a second connection works too',
      );
      pf.kill();
      const out = await pf.done;
      assert.match(out.stdout, /Forwarding from 127\.0\.0\.1/);
    }
    await c.delete(Pods, NS, 'pf', { gracePeriodSeconds: 0 });
  });

  it('a killed agent comes back, adopts its running pods without restarting them, and removes what was deleted meanwhile', async () => {
    const webPods = async () => (await c.list<KubeObject>(Pods, { namespace: NS, labelSelector: 'app=web' })).items;
    const [gone, ...kept] = await webPods();
    const before = kept.map((p) => [
      p.metadata.name,
      p.status.containerStatuses[0].containerID,
      p.status.containerStatuses[0].restartCount,
    ]);
    await s.kill9();
    // while the agent is dead (the control plane back without it), a pod is removed from the API at once: its sandbox
    // is an orphan now
    const controlPlane = await startSkiff({
      dataDir: s.dataDir,
      port: s.port,
      args: ['--disable-scheduler', '--disable-controller-manager'],
    });
    kubectlOk(s.kubeconfig, ['delete', 'pod', gone.metadata.name!, '--force', '--grace-period=0']);
    // the kept pods marked not ready, as the node lifecycle controller does while a node is silent: ready again, they
    // show that the new agent has looked at them (and found the same containers)
    const notReady = {
      status: {
        conditions: [
          { type: 'Ready', status: 'False' },
          { type: 'ContainersReady', status: 'False' },
        ],
        containerStatuses: [{ name: 'httpd', ready: false }],
      },
    };
    for (const k of kept)
      kubectlOk(s.kubeconfig, [
        'patch',
        'pod',
        k.metadata.name!,
        '--subresource=status',
        '--type=strategic',
        '-p',
        JSON.stringify(notReady),
      ]);
    assert.equal(await controlPlane.stop(), 0);
    const again = await startSkiff({
      dataDir: s.dataDir,
      port: s.port,
      agent: true,
      args: [
        '--node-name',
        NODE,
        '--bridge',
        BRIDGE,
        '--cluster-cidr',
        CLUSTER_CIDR,
        '--service-cidr',
        SERVICE_CIDR,
        '--cluster-dns',
        CLUSTER_DNS,
      ],
    });
    s = again;
    assert.match(again.output(), /adopting the running containerd/);
    const cri = new CriClient(`${s.dataDir}/agent/containerd/containerd.sock`);
    try {
      await eventually(
        'the orphan sandbox is removed',
        async () =>
          (await cri.listPodSandbox({ labels: { 'io.kubernetes.pod.uid': gone.metadata.uid! } })).length === 0,
        60_000,
        200,
      );
    } finally {
      cri.close();
    }
    const now = await eventually('the kept pods ready again, from the new agent', async () => {
      const pods = new Map((await webPods()).map((p) => [p.metadata.name, p]));
      return kept.every((k) => pods.get(k.metadata.name)?.status?.containerStatuses?.[0]?.ready) && pods;
    });
    const after = kept.map((k) => {
      const p = now.get(k.metadata.name)!;
      return [p.metadata.name, p.status.containerStatuses[0].containerID, p.status.containerStatuses[0].restartCount];
    });
    assert.deepEqual(after, before);
    for (const k of kept) {
      const p = now.get(k.metadata.name)!;
      assert.equal((await fetch(`http://${p.status.podIP}:8080/index.html`)).status, 200);
    }
  });

  it('runs preStop hooks before stopping, and reports pod metrics for kubectl top', async () => {
    const out = `${s.dataDir}/prestop-out`;
    await c.create(
      Pods,
      podOf('hooked', {
        terminationGracePeriodSeconds: 5,
        volumes: [{ name: 'out', hostPath: { path: out, type: 'DirectoryOrCreate' } }],
        containers: [
          container('while true; do sleep 0.2; done', {
            volumeMounts: [{ name: 'out', mountPath: '/out' }],
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo bye > /out/prestop'] } } },
          }),
        ],
      }),
    );
    await eventually('hooked running', async () => (await cstatus('hooked'))?.state?.running, 60_000);
    await c.delete(Pods, NS, 'hooked');
    await eventually(
      'the preStop hook wrote its file',
      () => existsSync(`${out}/prestop`) && readFileSync(`${out}/prestop`, 'utf8').trim() === 'bye',
      60_000,
    );
    // two samples of the CRI stats, 15 s apart, make a rate
    const top = await eventually(
      'kubectl top pods lists the web pods',
      async () => {
        const r = kubectl(s.kubeconfig, ['top', 'pods', '-l', 'app=web', '--no-headers']);
        return r.code === 0 && r.stdout.trim().split('\n').length === 2 && r.stdout;
      },
      90_000,
      1000,
    );
    assert.match(top, /web-\S+\s+\d+m\s+\d+Mi/);
  });
});
