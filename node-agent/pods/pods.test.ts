/** The agent's pure pod logic: env building, DNS and hosts files, QoS and cgroup values, status and phase, back-off. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Backoff } from './backoff.ts';
import { ConfigError, containerEnv, expand, type ObjectSource } from './env.ts';
import { containerResources, hostsFile, podDnsConfig, qosClass, type NodeContext } from './spec.ts';
import { podLimits } from './cgroups.ts';
import { podPhase, podStatus } from './status.ts';
import { ProbeManager } from './probes.ts';
import { writeAtomically } from './volumes.ts';
import type { RuntimePod } from './runtime-cache.ts';

const pod = (spec: any, meta: any = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { a: 'b' }, ...meta },
  spec,
});

const source: ObjectSource = {
  async configMap(_ns, name) {
    return name === 'cm' ? ({ metadata: { name }, data: { k: 'v', other: 'o' } } as any) : undefined;
  },
  async secret(_ns, name) {
    return name === 's'
      ? ({ metadata: { name }, data: { pw: Buffer.from('hunter2').toString('base64') } } as any)
      : undefined;
  },
};

const ctx: NodeContext = {
  nodeName: 'n1',
  nodeIP: '10.0.0.1',
  podsDir: '/tmp',
  cgroupRoot: '/skiff/n1',
  clusterDNS: ['10.96.0.10'],
  clusterDomain: 'cluster.local',
  hostResolv: { servers: ['1.1.1.1'], searches: ['example.com'], options: ['edns0'] },
  memoryCapacity: 8 * 1024 ** 3,
};

describe('container environment', () => {
  it('expands $(VAR) from earlier entries, keeps unknown references and $$ escapes', () => {
    const vars = new Map([['A', 'x']]);
    assert.equal(expand('$(A)-$(B)-$$(A)-$', vars), 'x-$(B)-$(A)-$');
  });

  it('resolves envFrom, ConfigMap and Secret keys, fieldRef and resourceFieldRef; env wins over envFrom', async () => {
    const c = {
      name: 'c',
      image: 'img',
      envFrom: [{ prefix: 'P_', configMapRef: { name: 'cm' } }, { configMapRef: { name: 'cm' } }],
      env: [
        { name: 'k', value: 'override' },
        { name: 'REF', value: '$(k)!' },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'pw' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'L', valueFrom: { fieldRef: { fieldPath: "metadata.labels['a']" } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'missing', key: 'x', optional: true } } },
      ],
      resources: { limits: { cpu: '250m' } },
    };
    const env = Object.fromEntries(
      (await containerEnv(pod({}), c, source, { podIP: '10.1.0.5' }, { cpu: '2' })).map((e) => [e.key, e.value]),
    );
    assert.deepEqual(env, {
      P_k: 'v',
      P_other: 'o',
      k: 'override',
      other: 'o',
      REF: 'override!',
      PW: 'hunter2',
      IP: '10.1.0.5',
      L: 'b',
      CPU: '250',
    });
  });

  it("a missing ConfigMap, Secret or key is a ConfigError with Kubernetes' words", async () => {
    const run = (env: any[]) => containerEnv(pod({}), { name: 'c', image: 'img', env }, source, {}, {});
    await assert.rejects(
      run([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }]),
      (e: Error) => e instanceof ConfigError && e.message === 'configmap "nope" not found',
    );
    await assert.rejects(
      run([{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }]),
      /secret "nope" not found/,
    );
    await assert.rejects(
      run([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'zz' } } }]),
      /couldn't find key zz in ConfigMap ns\/cm/,
    );
  });
});

describe('sandbox configuration', () => {
  it("ClusterFirst pods get the cluster DNS with the Kubernetes search path and ndots:5; Default and hostNetwork the host's", () => {
    assert.deepEqual(podDnsConfig(pod({}), ctx), {
      servers: ['10.96.0.10'],
      searches: ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.com'],
      options: ['ndots:5'],
    });
    assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), ctx).servers, ['1.1.1.1']);
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), ctx).servers, ['1.1.1.1']);
    assert.deepEqual(podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), ctx).servers, [
      '10.96.0.10',
    ]);
    const none = podDnsConfig(
      pod({
        dnsPolicy: 'None',
        dnsConfig: {
          nameservers: ['9.9.9.9'],
          searches: ['a.b'],
          options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }],
        },
      }),
      ctx,
    );
    assert.deepEqual(none, { servers: ['9.9.9.9'], searches: ['a.b'], options: ['ndots:2', 'rotate'] });
  });

  it("writes the pod's hosts file with its FQDN when it has a subdomain, and its host aliases", () => {
    const text = hostsFile(
      pod({ hostname: 'h', subdomain: 'sub', hostAliases: [{ ip: '1.2.3.4', hostnames: ['foo', 'bar'] }] }),
      ['10.1.0.9'],
      'cluster.local',
    );
    assert.match(text, /^10\.1\.0\.9\th\.sub\.ns\.svc\.cluster\.local\th$/m);
    assert.match(text, /^1\.2\.3\.4\tfoo\tbar$/m);
    assert.match(text, /^127\.0\.0\.1\tlocalhost$/m);
  });

  it('QoS classes and the cgroup values the kubelet derives from requests and limits', () => {
    const g = pod({
      containers: [
        {
          name: 'c',
          resources: { requests: { cpu: '500m', memory: '64Mi' }, limits: { cpu: '500m', memory: '64Mi' } },
        },
      ],
    });
    const b = pod({ containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }] });
    const be = pod({ containers: [{ name: 'c' }] });
    assert.equal(qosClass(g), 'Guaranteed');
    assert.equal(qosClass(b), 'Burstable');
    assert.equal(qosClass(be), 'BestEffort');
    assert.deepEqual(containerResources(g, g.spec.containers[0], ctx.memoryCapacity), {
      cpu_period: 100000,
      cpu_quota: 50000,
      cpu_shares: 512,
      memory_limit_in_bytes: 64 * 1024 * 1024,
      oom_score_adj: -997,
    });
    const rb = containerResources(b, b.spec.containers[0], ctx.memoryCapacity);
    assert.equal(rb.cpu_shares, 102);
    assert.equal(rb.cpu_quota, 0);
    assert.equal(containerResources(be, be.spec.containers[0], ctx.memoryCapacity).cpu_shares, 2);
    assert.deepEqual(podLimits(g), { memoryBytes: 64 * 1024 * 1024, cpuQuotaUs: 50000, cpuShares: 512 });
    assert.equal(podLimits(b).memoryBytes, 0, 'no pod memory limit unless every container has one');
  });
});

function runtimeWith(containers: any[]): RuntimePod {
  return {
    uid: 'u1',
    name: 'p',
    namespace: 'ns',
    sandboxes: [
      {
        id: 's1',
        state: 'SANDBOX_READY',
        network: { ip: '10.1.0.2', additional_ips: [] },
        metadata: { name: 'p', uid: 'u1', namespace: 'ns' },
        created_at: '1',
        labels: {},
        annotations: {},
      },
    ],
    containers: containers.map((c, i) => ({
      id: `c${i}`,
      pod_sandbox_id: 's1',
      metadata: { name: c.name, attempt: 0 },
      image: { image: 'img' },
      image_ref: 'sha256:x',
      created_at: String(100 - i),
      started_at: '1000000000',
      finished_at: c.state === 'CONTAINER_EXITED' ? '2000000000' : '0',
      exit_code: c.exit ?? 0,
      reason: c.reason ?? '',
      message: '',
      labels: {},
      annotations: { 'io.kubernetes.container.restartCount': String(c.restarts ?? 0) },
      log_path: '',
      state: c.state,
    })),
  };
}

describe('pod status', () => {
  const probes = { ready: () => true, started: () => true };
  const base = {
    nodeIP: '10.0.0.1',
    waiting: new Map(),
    probes,
    terminating: false,
    startTime: '2026-01-01T00:00:00Z',
  };

  it('a running pod is Running and Ready with its IP, container ID and conditions', () => {
    const p = pod({ containers: [{ name: 'c', image: 'img' }] });
    const st = podStatus({ ...base, pod: p, runtime: runtimeWith([{ name: 'c', state: 'CONTAINER_RUNNING' }]) });
    assert.equal(st.phase, 'Running');
    assert.equal(st.podIP, '10.1.0.2');
    assert.equal(st.containerStatuses[0].containerID, 'containerd://c0');
    assert.equal(st.containerStatuses[0].ready, true);
    assert.deepEqual(
      st.conditions.map((c: any) => `${c.type}=${c.status}`),
      ['PodReadyToStartContainers=True', 'Initialized=True', 'Ready=True', 'ContainersReady=True'],
    );
  });

  it('a container with a readiness or startup probe that has no result yet is neither ready nor started', () => {
    const fresh = new ProbeManager(undefined as never, () => {});
    const p = pod({
      containers: [
        { name: 'c', image: 'img', readinessProbe: { httpGet: { port: 80 } } },
        { name: 's', image: 'img', startupProbe: { exec: { command: ['true'] } } },
        { name: 'plain', image: 'img' },
      ],
    });
    const st = podStatus({
      ...base,
      probes: fresh,
      pod: p,
      runtime: runtimeWith([
        { name: 'c', state: 'CONTAINER_RUNNING' },
        { name: 's', state: 'CONTAINER_RUNNING' },
        { name: 'plain', state: 'CONTAINER_RUNNING' },
      ]),
    });
    const byName = Object.fromEntries(
      st.containerStatuses.map((cs: any) => [cs.name, `started=${cs.started} ready=${cs.ready}`]),
    );
    assert.deepEqual(byName, {
      c: 'started=true ready=false',
      s: 'started=false ready=false',
      plain: 'started=true ready=true',
    });
    assert.ok(st.conditions.some((c: any) => c.type === 'Ready' && c.status === 'False'));
  });

  it('a crash loop shows CrashLoopBackOff with the last termination; OOMKilled keeps its reason', () => {
    const p = pod({ containers: [{ name: 'c', image: 'img' }] });
    const waiting = new Map([
      ['c', { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container=c pod=p_ns(u1)' }],
    ]);
    const st = podStatus({
      ...base,
      waiting,
      pod: p,
      runtime: runtimeWith([{ name: 'c', state: 'CONTAINER_EXITED', exit: 137, reason: 'OOMKilled', restarts: 2 }]),
    });
    const cs = st.containerStatuses[0];
    assert.equal(cs.state?.waiting?.reason, 'CrashLoopBackOff');
    assert.equal(cs.lastState?.terminated?.reason, 'OOMKilled');
    assert.equal(cs.restartCount, 2);
    assert.equal(st.phase, 'Running', 'restartPolicy Always: a restarting pod is still Running');
  });

  it('phases follow the restart policy', () => {
    const exited = (code: number) => ({ state: { terminated: { exitCode: code } } });
    assert.equal(podPhase(pod({ restartPolicy: 'Never' }), [], [exited(0)], true, false), 'Succeeded');
    assert.equal(podPhase(pod({ restartPolicy: 'Never' }), [], [exited(1)], true, false), 'Failed');
    assert.equal(podPhase(pod({ restartPolicy: 'OnFailure' }), [], [exited(1)], true, false), 'Running');
    assert.equal(
      podPhase(pod({}), [], [{ state: { waiting: { reason: 'ContainerCreating' } } }], true, false),
      'Pending',
    );
    assert.equal(podPhase(pod({ restartPolicy: 'Never' }), [], [], false, true), 'Failed');
  });

  it('an app container waits for init containers as PodInitializing', () => {
    const p = pod({ initContainers: [{ name: 'i', image: 'img' }], containers: [{ name: 'c', image: 'img' }] });
    const st = podStatus({ ...base, pod: p, runtime: runtimeWith([{ name: 'i', state: 'CONTAINER_RUNNING' }]) });
    assert.equal(st.phase, 'Pending');
    assert.equal(st.containerStatuses[0].state?.waiting?.reason, 'PodInitializing');
    assert.equal(
      st.conditions.find((c) => c.type === 'Initialized')?.message,
      'containers with incomplete status: [i]',
    );
  });
});

describe('back-off', () => {
  it('restarts at once the first time, then waits 10 s doubling to the maximum', () => {
    let now = 0;
    const b = new Backoff(10_000, 40_000, () => now);
    assert.equal(b.remaining('k', now), 0);
    assert.equal(b.next('k'), 10_000);
    now = 1000;
    assert.equal(b.remaining('k', 500), 9500);
    assert.equal(b.next('k'), 20_000);
    assert.equal(b.next('k'), 40_000);
    assert.equal(b.next('k'), 40_000);
    now = 1000 + 80_001; // left alone for twice the maximum: forgotten
    assert.equal(b.remaining('k', now), 0);
    assert.equal(b.next('k'), 10_000);
  });
});

describe('atomic volume writes', () => {
  it('swaps a whole set of files at once through ..data and removes keys that went away', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-vol-'));
    try {
      writeAtomically(
        dir,
        new Map([
          ['a', { data: Buffer.from('1'), mode: 0o644 }],
          ['b', { data: Buffer.from('2'), mode: 0o600 }],
        ]),
      );
      assert.equal(readFileSync(path.join(dir, 'a'), 'utf8'), '1');
      const first = readlinkSync(path.join(dir, '..data'));
      assert.equal(
        writeAtomically(
          dir,
          new Map([
            ['a', { data: Buffer.from('1'), mode: 0o644 }],
            ['b', { data: Buffer.from('2'), mode: 0o600 }],
          ]),
        ),
        false,
        'unchanged content is not rewritten',
      );
      writeAtomically(dir, new Map([['a', { data: Buffer.from('3'), mode: 0o644 }]]));
      assert.notEqual(readlinkSync(path.join(dir, '..data')), first);
      assert.equal(readFileSync(path.join(dir, 'a'), 'utf8'), '3');
      assert.deepEqual(
        readdirSync(dir).filter((e) => !e.startsWith('..')),
        ['a'],
      );
      assert.equal(
        readdirSync(dir).filter((e) => e.startsWith('..') && e !== '..data').length,
        1,
        'the old timestamped folder is gone',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
