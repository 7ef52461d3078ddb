/**
 * The brains end to end: a real `skiff server` (API server, scheduler, controllers), simulated nodes in their own
 * process (`skiff sim-nodes`), and real kubectl doing what a user does: rollouts, history, undo, scaling, pause and
 * resume, a stuck rollout with its cause, deletion with each propagation policy, namespace deletion, a pod that fits
 * nowhere, and a node that goes silent.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { startRole, type RoleProcess } from './harness/processes.ts';
import { hasKubectl, kubectl, kubectlAsync, kubectlOk } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';

const DEPLOY = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      tolerations:
      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
      containers:
      - name: app
        image: registry.local/web:1
        resources:
          requests: {cpu: 100m, memory: 64Mi}
`;

/** each attempt runs kubectl: ask five times a second at most */
const KUBECTL_POLL = { everyMs: 200 };
/** waits on simulated nodes going silent and pods evicted after their tolerations */
const NODE_WAIT = { timeoutMs: 90_000, everyMs: 200 };

describe('controllers and scheduler with kubectl', { skip: !hasKubectl() && 'kubectl is not installed' }, () => {
  let s: SkiffProcess;
  let simA: RoleProcess;
  let simB: RoleProcess;
  const k = (args: string[], input?: string) => kubectlOk(s.kubeconfig, args, { input });
  const kr = (args: string[], input?: string) => kubectl(s.kubeconfig, args, { input });
  const ka = (args: string[], timeoutMs = 180_000) => kubectlAsync(s.kubeconfig, args, { timeoutMs });
  const json = (args: string[]) => JSON.parse(k([...args, '-o', 'json']));
  const podsOf = (sel: string) => json(['get', 'pods', '-l', sel]).items as any[];

  before(async () => {
    s = await startSkiff({ args: ['--node-monitor-grace-period', '5'] });
    simA = startRole([
      'sim-nodes',
      '--kubeconfig',
      s.kubeconfig,
      '--count',
      '2',
      '--prefix',
      'node-a',
      '--cpu',
      '2',
      '--lease-renew-interval',
      '1',
    ]);
    simB = startRole([
      'sim-nodes',
      '--kubeconfig',
      s.kubeconfig,
      '--count',
      '1',
      '--prefix',
      'node-b',
      '--cpu',
      '2',
      '--lease-renew-interval',
      '1',
    ]);
    await simA.waitFor('ready');
    await simB.waitFor('ready');
  });
  after(async () => {
    await simA?.stop();
    await simB?.stop();
    await s?.stop();
    s?.cleanup();
  });

  it('nodes get a pod CIDR each and are Ready', async () => {
    const nodes = await eventually(
      'podCIDRs',
      () => {
        const items = json(['get', 'nodes']).items as any[];
        return items.length === 3 && items.every((n) => n.spec.podCIDR) && items;
      },
      KUBECTL_POLL,
    );
    const cidrs = nodes.map((n: any) => n.spec.podCIDR);
    assert.equal(new Set(cidrs).size, 3);
    for (const c of cidrs) assert.match(c, /^10\.244\.\d+\.0\/24$/);
    assert.match(k(['get', 'nodes']), /node-a.*Ready/);
  });

  it('rolls out a Deployment, updates it, shows history and undoes it', async () => {
    k(['apply', '-f', '-'], DEPLOY);
    let r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /successfully rolled out/);
    const d = json(['get', 'deployment', 'web']);
    assert.equal(d.status.availableReplicas, 3);
    assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '1');
    const pods = podsOf('app=web');
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.equal(p.status.phase, 'Running');
      assert.ok(p.metadata.labels['pod-template-hash']);
      assert.equal(p.metadata.ownerReferences[0].kind, 'ReplicaSet');
    }

    k(['set', 'image', 'deployment/web', 'app=registry.local/web:2']);
    r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const images = podsOf('app=web')
      .filter((p) => !p.metadata.deletionTimestamp)
      .map((p) => p.spec.containers[0].image);
    assert.deepEqual(images, ['registry.local/web:2', 'registry.local/web:2', 'registry.local/web:2']);
    assert.equal(json(['get', 'rs', '-l', 'app=web']).items.length, 2);

    const history = k(['rollout', 'history', 'deployment/web']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\s*\n1\s+<none>\s*\n2\s+<none>/);

    k(['rollout', 'undo', 'deployment/web']);
    r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const back = json(['get', 'deployment', 'web']);
    assert.equal(back.spec.template.spec.containers[0].image, 'registry.local/web:1');
    assert.equal(back.metadata.annotations['deployment.kubernetes.io/revision'], '3');
    assert.match(k(['rollout', 'history', 'deployment/web']), /\n2\s+<none>\s*\n3\s+<none>/);
    assert.equal(json(['get', 'rs', '-l', 'app=web']).items.length, 2, 'undo reuses the old ReplicaSet');

    k(['rollout', 'undo', 'deployment/web', '--to-revision=2']);
    r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(json(['get', 'deployment', 'web']).spec.template.spec.containers[0].image, 'registry.local/web:2');
  });

  it('scales up and down', async () => {
    k(['scale', 'deployment/web', '--replicas=5']);
    await eventually('5 ready', () => json(['get', 'deployment', 'web']).status.readyReplicas === 5, KUBECTL_POLL);
    k(['scale', 'deployment/web', '--replicas=2']);
    await eventually(
      '2 pods',
      () =>
        podsOf('app=web').filter((p) => !p.metadata.deletionTimestamp).length === 2 &&
        json(['get', 'deployment', 'web']).status.replicas === 2,
      KUBECTL_POLL,
    );
  });

  it('pauses, resumes and restarts', async () => {
    k(['rollout', 'pause', 'deployment/web']);
    k(['set', 'image', 'deployment/web', 'app=registry.local/web:3']);
    // once the controller has seen the new template (observedGeneration), it has decided what a paused rollout does
    const paused = await eventually(
      'the paused Deployment observed',
      () => {
        const d = json(['get', 'deployment', 'web']);
        return d.status.observedGeneration === d.metadata.generation && d;
      },
      KUBECTL_POLL,
    );
    assert.equal(
      paused.status.updatedReplicas ?? 0,
      0,
      'nothing rolls out while paused (Kubernetes leaves a zero count out)',
    );
    assert.equal(paused.status.conditions.find((c: any) => c.type === 'Progressing').reason, 'DeploymentPaused');
    k(['rollout', 'resume', 'deployment/web']);
    let r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const before = new Set(podsOf('app=web').map((p) => p.metadata.name));
    k(['rollout', 'restart', 'deployment/web']);
    r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const afterRestart = podsOf('app=web').filter((p) => !p.metadata.deletionTimestamp);
    assert.ok(
      afterRestart.every((p) => !before.has(p.metadata.name)),
      'restart replaces every pod',
    );
  });

  it('a stuck rollout reaches ProgressDeadlineExceeded and says why', async () => {
    k(['patch', 'deployment', 'web', '-p', '{"spec":{"progressDeadlineSeconds":5}}']);
    k(['set', 'image', 'deployment/web', 'app=registry.local/does-not-exist:1']);
    const r = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /exceeded its progress deadline/);
    const cond = json(['get', 'deployment', 'web']).status.conditions.find((c: any) => c.type === 'Progressing');
    assert.equal(cond.status, 'False');
    assert.equal(cond.reason, 'ProgressDeadlineExceeded');
    assert.match(cond.message, /ImagePullBackOff|ErrImagePull/);
    assert.match(k(['describe', 'deployment', 'web']), /ProgressDeadlineExceeded/);
    k(['rollout', 'undo', 'deployment/web']);
    const ok = await ka(['rollout', 'status', 'deployment/web', '--timeout=120s']);
    assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  });

  it('events tell the story', async () => {
    const events = k(['get', 'events', '--sort-by=.lastTimestamp']);
    assert.match(events, /ScalingReplicaSet/);
    assert.match(events, /SuccessfulCreate/);
    assert.match(events, /Scheduled/);
    // a pod that stays (the last rollout's leftovers may be going), whose Scheduled event may follow its binding
    await eventually(
      "a pod's describe shows where it was scheduled",
      () => {
        const pod = podsOf('app=web').find((p) => !p.metadata.deletionTimestamp);
        return pod && /Successfully assigned default\/web-/.test(k(['describe', 'pod', pod.metadata.name]));
      },
      KUBECTL_POLL,
    );
  });

  it('says why a pod fits nowhere', async () => {
    k([
      'run',
      'huge',
      '--image=registry.local/x:1',
      '--overrides',
      JSON.stringify({
        spec: { containers: [{ name: 'huge', image: 'registry.local/x:1', resources: { requests: { cpu: '3' } } }] },
      }),
    ]);
    const cond = await eventually(
      'Unschedulable',
      () =>
        json(['get', 'pod', 'huge']).status.conditions?.find(
          (c: any) => c.type === 'PodScheduled' && c.status === 'False',
        ),
      KUBECTL_POLL,
    );
    assert.equal(cond.reason, 'Unschedulable');
    assert.match(cond.message, /^0\/3 nodes are available: 3 Insufficient cpu\./);
    // the event is written beside the condition, not before it
    await eventually(
      'FailedScheduling event',
      () => /FailedScheduling.*0\/3 nodes are available: 3 Insufficient cpu/s.test(k(['describe', 'pod', 'huge'])),
      KUBECTL_POLL,
    );
    const why = startRole(['why-pending', '--kubeconfig', s.kubeconfig, 'huge']);
    await why.waitFor(/node-a\S*.*NodeResourcesFit/s);
    await why.waitFor(/needs 3 cpu/);
    k(['delete', 'pod', 'huge', '--wait=false']);
  });

  it('deletes with each propagation policy', async () => {
    k(['create', 'deployment', 'bg', '--image=registry.local/x:1', '--replicas=2']);
    await eventually('bg pods', () => podsOf('app=bg').length === 2, KUBECTL_POLL);
    k(['delete', 'deployment', 'bg']);
    await eventually(
      'bg gone',
      () => json(['get', 'rs', '-l', 'app=bg']).items.length === 0 && podsOf('app=bg').length === 0,
      KUBECTL_POLL,
    );

    k(['create', 'deployment', 'fg', '--image=registry.local/x:1', '--replicas=2']);
    await eventually('fg pods', () => podsOf('app=fg').length === 2, KUBECTL_POLL);
    k(['delete', 'deployment', 'fg', '--cascade=foreground', '--wait=true', '--timeout=120s']);
    assert.equal(kr(['get', 'deployment', 'fg']).code, 1);
    assert.equal(json(['get', 'rs', '-l', 'app=fg']).items.length, 0);

    k(['create', 'deployment', 'or', '--image=registry.local/x:1', '--replicas=2']);
    await eventually('or pods', () => podsOf('app=or').length === 2, KUBECTL_POLL);
    k(['delete', 'deployment', 'or', '--cascade=orphan']);
    await eventually(
      'rs orphaned',
      () => {
        const rs = json(['get', 'rs', '-l', 'app=or']).items;
        return rs.length === 1 && !rs[0].metadata.ownerReferences?.length;
      },
      KUBECTL_POLL,
    );
    assert.equal(podsOf('app=or').length, 2);
  });

  it('runs a ReplicationController: its pods, scaling, and cascading deletion', async () => {
    const rc = (name: string) =>
      `apiVersion: v1\nkind: ReplicationController\nmetadata: {name: ${name}}\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {app: ${name}}\n    spec:\n      containers: [{name: c, image: registry.local/x:1}]\n`;
    k(['apply', '-f', '-'], rc('legacy'));
    await eventually('2 ready', () => json(['get', 'rc', 'legacy']).status.readyReplicas === 2, KUBECTL_POLL);
    const pods = podsOf('app=legacy');
    assert.equal(pods.length, 2);
    assert.deepEqual(
      pods.map((p) => [
        p.metadata.ownerReferences[0].kind,
        p.metadata.ownerReferences[0].apiVersion,
        p.metadata.name.startsWith('legacy-'),
      ]),
      [
        ['ReplicationController', 'v1', true],
        ['ReplicationController', 'v1', true],
      ],
    );
    k(['scale', 'rc', 'legacy', '--replicas=1']);
    await eventually(
      '1 pod',
      () =>
        podsOf('app=legacy').filter((p) => !p.metadata.deletionTimestamp).length === 1 &&
        json(['get', 'rc', 'legacy']).status.replicas === 1,
      KUBECTL_POLL,
    );
    k(['delete', 'rc', 'legacy']);
    await eventually('pods collected', () => podsOf('app=legacy').length === 0, KUBECTL_POLL);

    k(['apply', '-f', '-'], rc('kept'));
    await eventually('kept pods', () => podsOf('app=kept').length === 2, KUBECTL_POLL);
    k(['delete', 'rc', 'kept', '--cascade=orphan']);
    await eventually(
      'orphaned',
      () => podsOf('app=kept').every((p) => !p.metadata.ownerReferences?.length),
      KUBECTL_POLL,
    );
    assert.equal(podsOf('app=kept').length, 2);
    k(['delete', 'pods', '-l', 'app=kept']);
  });

  it('deletes a namespace with everything in it', async () => {
    k(['create', 'namespace', 'doomed']);
    k(['-n', 'doomed', 'create', 'deployment', 'd', '--image=registry.local/x:1', '--replicas=2']);
    k(['-n', 'doomed', 'create', 'configmap', 'c', '--from-literal=a=b']);
    await eventually(
      'pods in doomed',
      () => (JSON.parse(k(['-n', 'doomed', 'get', 'pods', '-o', 'json'])).items as any[]).length === 2,
      KUBECTL_POLL,
    );
    const r = await ka(['delete', 'namespace', 'doomed', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(kr(['get', 'namespace', 'doomed']).stderr, /NotFound/);
  });

  it('runs a DaemonSet pod on every node and a StatefulSet in order', async () => {
    k(
      ['apply', '-f', '-'],
      `
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: default}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: registry.local/agent:1}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default}
spec:
  serviceName: db
  replicas: 3
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: d, image: registry.local/db:1}]}
`,
    );
    let r = await ka(['rollout', 'status', 'daemonset/agent', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const agents = podsOf('app=agent');
    assert.deepEqual(
      agents.map((p) => p.spec.nodeName).sort(),
      json(['get', 'nodes'])
        .items.map((n: any) => n.metadata.name)
        .sort(),
    );
    r = await ka(['rollout', 'status', 'statefulset/db', '--timeout=120s']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const db = podsOf('app=db');
    assert.deepEqual(db.map((p) => p.metadata.name).sort(), ['db-0', 'db-1', 'db-2']);
    const started = db
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map((p) => Date.parse(p.metadata.creationTimestamp));
    assert.ok(started[0] <= started[1] && started[1] <= started[2], 'created in order');
    k(['delete', 'daemonset/agent', 'statefulset/db', '--wait=false']);
  });

  it('replaces the pods of a node that goes silent', async () => {
    const onB = await eventually(
      'a pod on node-b',
      () =>
        podsOf('app=web').find((p) => p.spec.nodeName?.startsWith('node-b') && !p.metadata.deletionTimestamp) ??
        (k(['scale', 'deployment/web', '--replicas=6']), false),
      NODE_WAIT,
    );
    await simB.kill9();
    await eventually('node-b NotReady', () => /node-b\S*\s+NotReady/.test(k(['get', 'nodes'])), NODE_WAIT);
    // the taint (the node's spec) and the condition (its status) are two writes: wait for both
    const node = await eventually(
      'node-b tainted unreachable',
      () => {
        const n = json(['get', 'node', onB.spec.nodeName]);
        return (
          n.spec.taints?.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') && n
        );
      },
      NODE_WAIT,
    );
    assert.equal(node.status.conditions.find((c: any) => c.type === 'Ready').status, 'Unknown');
    await eventually(
      'evicted',
      () =>
        json(['get', 'pod', onB.metadata.name]).metadata.deletionTimestamp ||
        kr(['get', 'pod', onB.metadata.name]).code !== 0,
      NODE_WAIT,
    );
    const want = json(['get', 'deployment', 'web']).spec.replicas;
    await eventually(
      'replaced on node-a',
      () =>
        podsOf('app=web').filter(
          (p) => !p.metadata.deletionTimestamp && p.spec.nodeName?.startsWith('node-a') && p.status.phase === 'Running',
        ).length === want,
      NODE_WAIT,
    );
  });
});
