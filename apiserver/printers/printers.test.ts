import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PRINTER, PRINTERS, humanDuration, toTable, toWatchEventTable, type Table } from './index.ts';
import { formatLabelSelector, selectorString } from './labels.ts';
import { since } from './duration.ts';

const NOW = new Date('2024-06-01T12:00:00Z');
const T = NOW.getTime();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;
/** an RFC 3339 timestamp `ms` before NOW */
const ago = (ms: number) => new Date(T - ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** the cells of the single row printed for obj */
function cells(group: string, resource: string, obj: any): unknown[] {
  const t = toTable(group, resource, [obj], {}, { now: NOW });
  return t.rows[0].cells;
}
/** the cells of the columns shown without -o wide */
function narrow(group: string, resource: string, obj: any): unknown[] {
  const t = toTable(group, resource, [obj], {}, { now: NOW });
  return t.rows[0].cells.filter((_, i) => t.columnDefinitions![i].priority === 0);
}
const names = (t: Table) => t.columnDefinitions!.map((c) => c.name);

describe('humanDuration', () => {
  const cases: [number, string][] = [
    [-3 * S, '<invalid>'],
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [59 * S + 999, '59s'],
    [119 * S, '119s'],
    [120 * S, '2m'],
    [130 * S, '2m10s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 5 * M, '3h5m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H + 30 * M, '8h'],
    [47 * H, '47h'],
    [48 * H, '2d'],
    [49 * H, '2d1h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [731 * D, '2y1d'],
    [8 * 365 * D - 1 * D, '7y364d'],
    [8 * 365 * D, '8y'],
    [3000 * D, '8y'],
  ];
  for (const [ms, want] of cases) it(`${ms} ms -> ${want}`, () => assert.equal(humanDuration(ms), want));

  it('treats absent and zero timestamps as unknown', () => {
    assert.equal(since(undefined, T), '<unknown>');
    assert.equal(since('0001-01-01T00:00:00Z', T), '<unknown>');
    assert.equal(since('not a time', T), '<unknown>');
    assert.equal(since(ago(5 * M + 10 * S), T), '5m10s');
  });
});

describe('pods', () => {
  const base = (over: any = {}) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d9c',
      namespace: 'default',
      creationTimestamp: ago(1 * H),
      resourceVersion: '42',
      ...over.metadata,
    },
    spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'nginx' }], ...over.spec },
    status: { phase: 'Running', podIP: '10.244.1.7', podIPs: [{ ip: '10.244.1.7' }], ...over.status },
  });

  it('has kubectl columns, wide ones with priority 1', () => {
    const t = toTable('', 'pods', [], {}, { now: NOW });
    assert.deepEqual(names(t), [
      'Name',
      'Ready',
      'Status',
      'Restarts',
      'Age',
      'IP',
      'Node',
      'Nominated Node',
      'Readiness Gates',
    ]);
    assert.deepEqual(
      t.columnDefinitions!.map((c) => c.priority),
      [0, 0, 0, 0, 0, 1, 1, 1, 1],
    );
    assert.equal(t.columnDefinitions![0].format, 'name');
    assert.equal(t.columnDefinitions![3].type, 'string');
    assert.deepEqual(t.rows, []);
  });

  it('prints a running pod', () => {
    const pod = base({
      status: {
        conditions: [{ type: 'Ready', status: 'True' }],
        containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: ago(H) } } }],
      },
    });
    assert.deepEqual(cells('', 'pods', pod), [
      'web-7d9c',
      '1/1',
      'Running',
      '0',
      '60m',
      '10.244.1.7',
      'node-1',
      '<none>',
      '<none>',
    ]);
  });

  it('prints CrashLoopBackOff with restarts and the age of the last one', () => {
    const pod = base({
      spec: {
        containers: [
          { name: 'app', image: 'nginx' },
          { name: 'log', image: 'busybox' },
        ],
      },
      status: {
        containerStatuses: [
          {
            name: 'app',
            ready: false,
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 2m40s restarting failed container' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(5 * M + 10 * S) } },
          },
          {
            name: 'log',
            ready: true,
            restartCount: 1,
            state: { running: {} },
            lastState: { terminated: { exitCode: 137, finishedAt: ago(40 * M) } },
          },
        ],
      },
    });
    assert.deepEqual(narrow('', 'pods', pod), ['web-7d9c', '1/2', 'CrashLoopBackOff', '6 (5m10s ago)', '60m']);
    // with several waiting containers, the first container's reason is shown
    pod.status.containerStatuses[1] = {
      name: 'log',
      ready: false,
      restartCount: 0,
      state: { waiting: { reason: 'ContainerCreating' } },
    } as any;
    assert.deepEqual(narrow('', 'pods', pod), ['web-7d9c', '0/2', 'CrashLoopBackOff', '5 (5m10s ago)', '60m']);
  });

  it('prints a terminating pod, and Unknown for one on an unreachable node', () => {
    const running = {
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }],
    };
    const terminating = base({ metadata: { deletionTimestamp: ago(10 * S) }, status: running });
    assert.deepEqual(narrow('', 'pods', terminating), ['web-7d9c', '1/1', 'Terminating', '0', '60m']);
    const lost = base({ metadata: { deletionTimestamp: ago(10 * S) }, status: { ...running, reason: 'NodeLost' } });
    assert.equal(cells('', 'pods', lost)[2], 'Unknown');
    // a pod that already finished is not shown as terminating
    const done = base({
      metadata: { deletionTimestamp: ago(10 * S) },
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          { name: 'app', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      },
    });
    assert.equal(cells('', 'pods', done)[2], 'Completed');
  });

  it('prints init container progress and failures', () => {
    const spec = {
      initContainers: [
        { name: 'migrate', image: 'app' },
        { name: 'wait-db', image: 'busybox' },
      ],
    };
    const progress = base({
      spec,
      status: {
        phase: 'Pending',
        podIPs: [],
        podIP: undefined,
        conditions: [{ type: 'Initialized', status: 'False' }],
        initContainerStatuses: [
          { name: 'migrate', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
          {
            name: 'wait-db',
            restartCount: 2,
            state: { running: {} },
            lastState: { terminated: { exitCode: 1, finishedAt: ago(30 * S) } },
          },
        ],
        containerStatuses: [
          { name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } },
        ],
      },
    });
    assert.deepEqual(cells('', 'pods', progress), [
      'web-7d9c',
      '0/1',
      'Init:1/2',
      '2 (30s ago)',
      '60m',
      '<none>',
      'node-1',
      '<none>',
      '<none>',
    ]);

    const crash = structuredClone(progress);
    crash.status.initContainerStatuses[1].state = { waiting: { reason: 'CrashLoopBackOff' } };
    assert.equal(cells('', 'pods', crash)[2], 'Init:CrashLoopBackOff');

    const failed = structuredClone(progress);
    failed.status.initContainerStatuses[0].state = { terminated: { exitCode: 3 } };
    assert.equal(cells('', 'pods', failed)[2], 'Init:ExitCode:3');
    failed.status.initContainerStatuses[0].state = { terminated: { exitCode: 137, signal: 9 } };
    assert.equal(cells('', 'pods', failed)[2], 'Init:Signal:9');
    failed.status.initContainerStatuses[0].state = { terminated: { exitCode: 1, reason: 'Error' } };
    assert.equal(cells('', 'pods', failed)[2], 'Init:Error');

    const podInitializing = structuredClone(progress);
    podInitializing.status.initContainerStatuses[1].state = { waiting: { reason: 'PodInitializing' } };
    assert.equal(cells('', 'pods', podInitializing)[2], 'Init:1/2');
  });

  it('counts sidecar init containers as containers', () => {
    const pod = base({
      spec: { initContainers: [{ name: 'proxy', image: 'envoy', restartPolicy: 'Always' }] },
      status: {
        conditions: [
          { type: 'Initialized', status: 'True' },
          { type: 'Ready', status: 'True' },
        ],
        initContainerStatuses: [
          {
            name: 'proxy',
            ready: true,
            started: true,
            restartCount: 1,
            state: { running: {} },
            lastState: { terminated: { exitCode: 1, finishedAt: ago(20 * M) } },
          },
        ],
        containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }],
      },
    });
    assert.deepEqual(narrow('', 'pods', pod), ['web-7d9c', '2/2', 'Running', '1 (20m ago)', '60m']);
  });

  it('prints completed pods with a Completed row condition', () => {
    const pod = base({
      status: {
        phase: 'Succeeded',
        containerStatuses: [
          { name: 'app', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        ],
      },
    });
    const t = toTable('', 'pods', [pod], {}, { now: NOW });
    assert.equal(t.rows[0].cells[2], 'Completed');
    assert.deepEqual(
      t.rows[0].conditions?.map((c) => [c.type, c.status, c.reason]),
      [['Completed', 'True', 'Succeeded']],
    );
    const failed = base({
      status: { phase: 'Failed', containerStatuses: [{ name: 'app', state: { terminated: { exitCode: 2 } } }] },
    });
    const tf = toTable('', 'pods', [failed], {}, { now: NOW });
    assert.equal(tf.rows[0].cells[2], 'ExitCode:2');
    assert.equal(tf.rows[0].conditions?.[0].reason, 'Failed');
    const running = toTable('', 'pods', [base()], {}, { now: NOW });
    assert.equal('conditions' in running.rows[0], false);
  });

  it('turns Completed back to Running or NotReady while another container runs', () => {
    const status = {
      containerStatuses: [
        { name: 'job', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'app', ready: true, restartCount: 0, state: { running: {} } },
      ],
    };
    const spec = { containers: [{ name: 'job' }, { name: 'app' }] };
    assert.equal(
      cells('', 'pods', base({ spec, status: { ...status, conditions: [{ type: 'Ready', status: 'True' }] } }))[2],
      'Running',
    );
    assert.equal(cells('', 'pods', base({ spec, status }))[2], 'NotReady');
  });

  it('shows SchedulingGated, Pending, nominated node and readiness gates', () => {
    const gated = base({
      spec: {
        nodeName: undefined,
        readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }],
      },
      status: {
        phase: 'Pending',
        podIPs: undefined,
        podIP: undefined,
        nominatedNodeName: 'node-2',
        conditions: [
          { type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' },
          { type: 'example.com/lb', status: 'True' },
        ],
      },
    });
    assert.deepEqual(cells('', 'pods', gated), [
      'web-7d9c',
      '0/1',
      'SchedulingGated',
      '0',
      '60m',
      '<none>',
      '<none>',
      'node-2',
      '1/2',
    ]);
    const pending = base({ status: { phase: 'Pending', podIPs: undefined, podIP: undefined } });
    assert.equal(cells('', 'pods', pending)[2], 'Pending');
    const evicted = base({ status: { phase: 'Failed', reason: 'Evicted' } });
    assert.equal(cells('', 'pods', evicted)[2], 'Evicted');
  });
});

describe('services', () => {
  const svc = (spec: any, status: any = {}) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default', creationTimestamp: ago(3 * D + 4 * H) },
    spec,
    status,
  });

  it('has kubectl columns', () => {
    assert.deepEqual(names(toTable('', 'services', [], {})), [
      'Name',
      'Type',
      'Cluster-IP',
      'External-IP',
      'Port(s)',
      'Age',
      'Selector',
    ]);
  });

  it('prints a NodePort service', () => {
    const s = svc({
      type: 'NodePort',
      clusterIP: '10.96.12.34',
      clusterIPs: ['10.96.12.34'],
      selector: { tier: 'front', app: 'web' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080, nodePort: 30080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, nodePort: 30443, protocol: 'TCP' },
      ],
    });
    assert.deepEqual(cells('', 'services', s), [
      'web',
      'NodePort',
      '10.96.12.34',
      '<none>',
      '80:30080/TCP,443:30443/TCP',
      '3d4h',
      'app=web,tier=front',
    ]);
  });

  it('prints ClusterIP, headless and ExternalName services', () => {
    assert.deepEqual(
      narrow(
        '',
        'services',
        svc({
          type: 'ClusterIP',
          clusterIPs: ['10.96.0.10'],
          ports: [
            { port: 53, protocol: 'UDP' },
            { port: 53, protocol: 'TCP' },
          ],
        }),
      ),
      ['web', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', '3d4h'],
    );
    const headless = svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], externalIPs: ['203.0.113.9'] });
    assert.deepEqual(cells('', 'services', headless), [
      'web',
      'ClusterIP',
      'None',
      '203.0.113.9',
      '<none>',
      '3d4h',
      '<none>',
    ]);
    const ext = svc({ type: 'ExternalName', externalName: 'db.example.com' });
    assert.deepEqual(narrow('', 'services', ext), [
      'web',
      'ExternalName',
      '<none>',
      'db.example.com',
      '<none>',
      '3d4h',
    ]);
  });

  it('prints LoadBalancer services pending and provisioned', () => {
    const spec = {
      type: 'LoadBalancer',
      clusterIPs: ['10.96.1.1'],
      ports: [{ port: 80, nodePort: 31000, protocol: 'TCP' }],
    };
    assert.deepEqual(narrow('', 'services', svc(spec)), [
      'web',
      'LoadBalancer',
      '10.96.1.1',
      '<pending>',
      '80:31000/TCP',
      '3d4h',
    ]);
    const status = {
      loadBalancer: {
        ingress: [
          { ip: '198.51.100.2' },
          { hostname: 'lb.example.com' },
          { ip: '198.51.100.1' },
          { ip: '198.51.100.2' },
        ],
      },
    };
    assert.equal(cells('', 'services', svc(spec, status))[3], '198.51.100.1,198.51.100.2,lb.example.com');
    assert.equal(
      cells('', 'services', svc({ ...spec, externalIPs: ['203.0.113.1'] }, status))[3],
      '198.51.100.1,198.51.100.2,lb.example.com,203.0.113.1',
    );
    assert.equal(cells('', 'services', svc({ ...spec, externalIPs: ['203.0.113.1'] }))[3], '203.0.113.1');
  });
});

describe('nodes', () => {
  const node = (over: any = {}) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: 'cp-1',
      creationTimestamp: ago(12 * D),
      labels: {
        'node-role.kubernetes.io/control-plane': '',
        'kubernetes.io/role': 'master',
        'kubernetes.io/hostname': 'cp-1',
      },
    },
    spec: over.spec ?? {},
    status: {
      conditions: over.conditions ?? [
        { type: 'MemoryPressure', status: 'False' },
        { type: 'Ready', status: 'True' },
      ],
      addresses: [
        { type: 'Hostname', address: 'cp-1' },
        { type: 'InternalIP', address: '192.168.1.10' },
      ],
      nodeInfo: {
        kubeletVersion: 'v1.31.2',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        kernelVersion: '6.1.0-26-amd64',
        containerRuntimeVersion: 'containerd://1.7.22',
      },
    },
  });

  it('prints a cordoned control-plane node with the wide columns', () => {
    const t = toTable('', 'nodes', [node({ spec: { unschedulable: true } })], {}, { now: NOW });
    assert.deepEqual(names(t), [
      'Name',
      'Status',
      'Roles',
      'Age',
      'Version',
      'Internal-IP',
      'External-IP',
      'OS-Image',
      'Kernel-Version',
      'Container-Runtime',
    ]);
    assert.deepEqual(t.rows[0].cells, [
      'cp-1',
      'Ready,SchedulingDisabled',
      'control-plane,master',
      '12d',
      'v1.31.2',
      '192.168.1.10',
      '<none>',
      'Debian GNU/Linux 12 (bookworm)',
      '6.1.0-26-amd64',
      'containerd://1.7.22',
    ]);
  });

  it('prints NotReady, Unknown and no roles', () => {
    assert.equal(cells('', 'nodes', node({ conditions: [{ type: 'Ready', status: 'Unknown' }] }))[1], 'NotReady');
    assert.equal(cells('', 'nodes', node({ conditions: [] }))[1], 'Unknown');
    const worker = { metadata: { name: 'w-1', creationTimestamp: ago(M) }, status: {} };
    assert.deepEqual(cells('', 'nodes', worker), [
      'w-1',
      'Unknown',
      '<none>',
      '60s',
      '',
      '<none>',
      '<none>',
      '<unknown>',
      '<unknown>',
      '<unknown>',
    ]);
  });
});

describe('workloads', () => {
  const template = {
    spec: {
      containers: [
        { name: 'nginx', image: 'nginx:1.25' },
        { name: 'sidecar', image: 'busybox' },
      ],
    },
  };

  it('prints a deployment', () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', creationTimestamp: ago(5 * D) },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template },
      status: { replicas: 3, updatedReplicas: 3, readyReplicas: 2, availableReplicas: 2 },
    };
    const t = toTable('apps', 'deployments', [d], {}, { now: NOW });
    assert.deepEqual(names(t), ['Name', 'Ready', 'Up-to-date', 'Available', 'Age', 'Containers', 'Images', 'Selector']);
    assert.deepEqual(t.rows[0].cells, ['web', '2/3', 3, 2, '5d', 'nginx,sidecar', 'nginx:1.25,busybox', 'app=web']);
    // a fresh deployment without status
    assert.deepEqual(
      narrow('apps', 'deployments', {
        metadata: { name: 'new', creationTimestamp: ago(3 * S) },
        spec: { replicas: 0, template },
      }),
      ['new', '0/0', 0, 0, '3s'],
    );
  });

  it('prints replicasets, daemonsets and statefulsets', () => {
    const selector = {
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['b', 'a'] },
        { key: 'canary', operator: 'DoesNotExist' },
      ],
    };
    const rs = {
      metadata: { name: 'web-5d8f', creationTimestamp: ago(2 * H) },
      spec: { replicas: 3, selector, template },
      status: { replicas: 3, readyReplicas: 1 },
    };
    assert.deepEqual(cells('apps', 'replicasets', rs), [
      'web-5d8f',
      3,
      3,
      1,
      '120m',
      'nginx,sidecar',
      'nginx:1.25,busybox',
      'app=web,!canary,tier in (a,b)',
    ]);

    const ds = {
      metadata: { name: 'fluentd', creationTimestamp: ago(40 * D) },
      spec: {
        selector: { matchLabels: { name: 'fluentd' } },
        template: {
          spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'f', image: 'fluentd:v1' }] },
        },
      },
      status: {
        desiredNumberScheduled: 3,
        currentNumberScheduled: 3,
        numberReady: 2,
        updatedNumberScheduled: 1,
        numberAvailable: 2,
      },
    };
    const tds = toTable('apps', 'daemonsets', [ds], {}, { now: NOW });
    assert.deepEqual(names(tds), [
      'Name',
      'Desired',
      'Current',
      'Ready',
      'Up-to-date',
      'Available',
      'Node Selector',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    assert.deepEqual(tds.rows[0].cells, [
      'fluentd',
      3,
      3,
      2,
      1,
      2,
      'kubernetes.io/os=linux',
      '40d',
      'f',
      'fluentd:v1',
      'name=fluentd',
    ]);

    const sts = {
      metadata: { name: 'db', creationTimestamp: ago(90 * S) },
      spec: { replicas: 3, template },
      status: { readyReplicas: 1 },
    };
    const tsts = toTable('apps', 'statefulsets', [sts], {}, { now: NOW });
    assert.deepEqual(names(tsts), ['Name', 'Ready', 'Age', 'Containers', 'Images']);
    assert.deepEqual(tsts.rows[0].cells, ['db', '1/3', '90s', 'nginx,sidecar', 'nginx:1.25,busybox']);
  });

  it('prints controller revisions with their owner', () => {
    const cr = {
      metadata: {
        name: 'fluentd-6b9c',
        creationTimestamp: ago(D),
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'fluentd', uid: 'u1', controller: true }],
      },
      revision: 2,
    };
    assert.deepEqual(cells('apps', 'controllerrevisions', cr), ['fluentd-6b9c', 'daemonset.apps/fluentd', 2, '24h']);
    assert.equal(cells('apps', 'controllerrevisions', { metadata: { name: 'x' }, revision: 1 })[1], '<none>');
  });

  it('prints jobs and cronjobs', () => {
    const job = {
      metadata: { name: 'pi', creationTimestamp: ago(10 * M) },
      spec: {
        completions: 1,
        parallelism: 1,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'abc' } },
        template: { spec: { containers: [{ name: 'pi', image: 'perl' }] } },
      },
      status: {
        succeeded: 1,
        startTime: ago(10 * M),
        completionTime: ago(8 * M + 45 * S),
        conditions: [{ type: 'Complete', status: 'True' }],
      },
    };
    assert.deepEqual(cells('batch', 'jobs', job), [
      'pi',
      'Complete',
      '1/1',
      '75s',
      '10m',
      'pi',
      'perl',
      'batch.kubernetes.io/controller-uid=abc',
    ]);
    const running = {
      ...job,
      spec: { ...job.spec, completions: undefined, parallelism: 3 },
      status: { succeeded: 0, startTime: ago(4 * M) },
    };
    assert.deepEqual(narrow('batch', 'jobs', running), ['pi', 'Running', '0/1 of 3', '4m', '10m']);
    const failed = {
      ...job,
      status: {
        conditions: [
          { type: 'Complete', status: 'False' },
          { type: 'Failed', status: 'True' },
        ],
      },
    };
    assert.deepEqual(narrow('batch', 'jobs', failed).slice(1, 4), ['Failed', '0/1', '']);

    const cj = {
      metadata: { name: 'backup', creationTimestamp: ago(3 * D) },
      spec: {
        schedule: '*/5 * * * *',
        suspend: false,
        jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: 'backup:1' }] } } } },
      },
      status: { active: [{ name: 'backup-1' }], lastScheduleTime: ago(2 * M + 5 * S) },
    };
    const t = toTable('batch', 'cronjobs', [cj], {}, { now: NOW });
    assert.deepEqual(names(t), [
      'Name',
      'Schedule',
      'Timezone',
      'Suspend',
      'Active',
      'Last Schedule',
      'Age',
      'Containers',
      'Images',
      'Selector',
    ]);
    assert.deepEqual(t.rows[0].cells, [
      'backup',
      '*/5 * * * *',
      '<none>',
      'False',
      1,
      '2m5s',
      '3d',
      'b',
      'backup:1',
      '<none>',
    ]);
  });

  it('prints horizontal pod autoscalers', () => {
    const hpa = {
      metadata: { name: 'web', creationTimestamp: ago(H) },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
          { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } },
          { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '0.5' } } },
        ],
      },
      status: {
        currentReplicas: 3,
        currentMetrics: [
          { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 41, averageValue: '205m' } } },
        ],
      },
    };
    assert.deepEqual(cells('autoscaling', 'horizontalpodautoscalers', hpa), [
      'web',
      'Deployment/web',
      'cpu: 41%/80%, memory: <unknown>/1Gi + 1 more...',
      '2',
      10,
      3,
      '60m',
    ]);
    const fresh = { ...hpa, spec: { ...hpa.spec, minReplicas: undefined, metrics: [hpa.spec.metrics[2]] }, status: {} };
    assert.deepEqual(cells('autoscaling', 'horizontalpodautoscalers', fresh).slice(2, 6), [
      '<unknown>/500m',
      '<unset>',
      10,
      0,
    ]);
  });
});

describe('events', () => {
  it('prints a core event', () => {
    const ev = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web-7d9c.17d3a1b2c3d4e5f6', namespace: 'default', creationTimestamp: ago(10 * M) },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web-7d9c', fieldPath: 'spec.containers{app}' },
      reason: 'BackOff',
      message: 'Back-off restarting failed container app in pod web-7d9c\n',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: ago(10 * M),
      lastTimestamp: ago(2 * M),
      count: 7,
      type: 'Warning',
    };
    const t = toTable('', 'events', [ev], {}, { now: NOW });
    assert.deepEqual(names(t), [
      'Last Seen',
      'Type',
      'Reason',
      'Object',
      'Subobject',
      'Source',
      'Message',
      'First Seen',
      'Count',
      'Name',
    ]);
    assert.deepEqual(
      t.columnDefinitions!.map((c) => c.priority),
      [0, 0, 0, 0, 1, 1, 0, 1, 1, 1],
    );
    assert.deepEqual(t.rows[0].cells, [
      '2m',
      'Warning',
      'BackOff',
      'pod/web-7d9c',
      'spec.containers{app}',
      'kubelet, node-1',
      'Back-off restarting failed container app in pod web-7d9c',
      '10m',
      7,
      'web-7d9c.17d3a1b2c3d4e5f6',
    ]);
  });

  it('prints events.k8s.io events (eventTime, series, reporting controller)', () => {
    const ev = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web.1', namespace: 'default', creationTimestamp: ago(5 * M) },
      eventTime: '2024-06-01T11:54:59.500000Z',
      series: { count: 3, lastObservedTime: '2024-06-01T11:59:30.000001Z' },
      reportingController: 'default-scheduler',
      reportingInstance: 'default-scheduler-cp-1',
      action: 'Scheduling',
      reason: 'FailedScheduling',
      regarding: { kind: 'Pod', namespace: 'default', name: 'web' },
      note: '0/3 nodes are available.',
      type: 'Warning',
    };
    assert.deepEqual(cells('events.k8s.io', 'events', ev), [
      '30s',
      'Warning',
      'FailedScheduling',
      'pod/web',
      '',
      'default-scheduler, default-scheduler-cp-1',
      '0/3 nodes are available.',
      '5m',
      3,
      'web.1',
    ]);
    const single = { ...ev, series: undefined, reportingInstance: '', regarding: { kind: 'Node' } };
    assert.deepEqual(cells('events.k8s.io', 'events', single).slice(0, 9), [
      '5m',
      'Warning',
      'FailedScheduling',
      'node',
      '',
      'default-scheduler',
      '0/3 nodes are available.',
      '5m',
      1,
    ]);
  });
});

describe('other core and cluster resources', () => {
  const meta = { name: 'x', creationTimestamp: ago(45 * S) };
  it('prints namespaces, configmaps, secrets, service accounts and leases', () => {
    assert.deepEqual(cells('', 'namespaces', { metadata: meta, status: { phase: 'Terminating' } }), [
      'x',
      'Terminating',
      '45s',
    ]);
    assert.deepEqual(cells('', 'configmaps', { metadata: meta, data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), [
      'x',
      3,
      '45s',
    ]);
    assert.deepEqual(
      cells('', 'secrets', { metadata: meta, type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }),
      ['x', 'kubernetes.io/tls', 2, '45s'],
    );
    assert.deepEqual(cells('', 'serviceaccounts', { metadata: meta }), ['x', 0, '45s']);
    assert.deepEqual(
      cells('coordination.k8s.io', 'leases', { metadata: meta, spec: { holderIdentity: 'cp-1_4f2a' } }),
      ['x', 'cp-1_4f2a', '45s'],
    );
    assert.deepEqual(cells('coordination.k8s.io', 'leases', { metadata: meta, spec: {} }), ['x', '', '45s']);
  });

  it('prints endpoints with at most three addresses', () => {
    const ep = {
      metadata: meta,
      subsets: [
        {
          addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }],
          ports: [
            { name: 'http', port: 8080 },
            { name: 'metrics', port: 9090 },
          ],
        },
        { addresses: [{ ip: 'fd00::5' }], ports: [{ port: 8080 }] },
      ],
    };
    assert.deepEqual(cells('', 'endpoints', ep), ['x', '10.0.0.1:8080,10.0.0.2:8080,10.0.0.1:9090 + 2 more...', '45s']);
    assert.equal(
      cells('', 'endpoints', {
        metadata: meta,
        subsets: [{ addresses: [{ ip: 'fd00::5' }], ports: [{ port: 80 }] }],
      })[1],
      '[fd00::5]:80',
    );
    assert.equal(
      cells('', 'endpoints', { metadata: meta, subsets: [{ addresses: [{ ip: '10.0.0.9' }] }] })[1],
      '10.0.0.9',
    );
    assert.equal(cells('', 'endpoints', { metadata: meta })[1], '<none>');
  });

  it('prints endpoint slices', () => {
    const s = {
      metadata: meta,
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'named' }, {}],
      endpoints: [
        { addresses: ['10.0.0.1'] },
        { addresses: ['10.0.0.2'] },
        { addresses: ['10.0.0.3'] },
        { addresses: ['10.0.0.4'] },
      ],
    };
    assert.deepEqual(cells('discovery.k8s.io', 'endpointslices', s), [
      'x',
      'IPv4',
      '80,named,*',
      '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...',
      '45s',
    ]);
    assert.deepEqual(cells('discovery.k8s.io', 'endpointslices', { metadata: meta, addressType: 'IPv4' }).slice(2, 4), [
      '<unset>',
      '<unset>',
    ]);
  });
});

describe('label selectors', () => {
  it('renders selectors as kubectl does', () => {
    assert.equal(formatLabelSelector(undefined), '<none>');
    assert.equal(formatLabelSelector({}), '<none>');
    assert.equal(
      formatLabelSelector({
        matchExpressions: [
          { key: 'env', operator: 'NotIn', values: ['prod', 'dev'] },
          { key: 'app', operator: 'Exists' },
        ],
      }),
      'app,env notin (dev,prod)',
    );
    assert.equal(
      formatLabelSelector({ matchExpressions: [{ key: 'env', operator: 'Sometimes', values: [] }] }),
      '<error>',
    );
    assert.equal(selectorString({ matchExpressions: [{ key: 'env', operator: 'In', values: [] }] }), undefined);
  });
});

describe('table shape', () => {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'u',
      resourceVersion: '7',
      creationTimestamp: ago(M),
      labels: { a: 'b' },
    },
    spec: { containers: [{ name: 'c' }] },
    status: { phase: 'Pending' },
  };

  it('embeds PartialObjectMetadata by default, the object or nothing on request', () => {
    const t = toTable('', 'pods', [pod], { resourceVersion: '99', continue: '', remainingItemCount: 0 }, { now: NOW });
    assert.equal(t.kind, 'Table');
    assert.equal(t.apiVersion, 'meta.k8s.io/v1');
    assert.deepEqual(t.metadata, { resourceVersion: '99', remainingItemCount: 0 });
    assert.deepEqual(t.rows[0].object, {
      kind: 'PartialObjectMetadata',
      apiVersion: 'meta.k8s.io/v1',
      metadata: pod.metadata,
    });
    assert.equal(toTable('', 'pods', [pod], {}, { includeObject: 'Object' }).rows[0].object, pod);
    const none = toTable('', 'pods', [pod], {}, { includeObject: 'None' }).rows[0];
    assert.equal(none.object, null);
    assert.equal(JSON.stringify(none).includes('"object":null'), true);
  });

  it('completes embedded objects that lack apiVersion and kind', () => {
    const bare = { metadata: { name: 'd' }, spec: {} };
    const row = toTable('apps', 'deployments', [bare], {}, { includeObject: 'Object' }).rows[0];
    assert.deepEqual(row.object, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} });
  });

  it('serializes column definitions with every field', () => {
    const json = JSON.parse(JSON.stringify(toTable('', 'configmaps', [], {})));
    assert.deepEqual(json.columnDefinitions[1], {
      name: 'Data',
      type: 'string',
      format: '',
      description: json.columnDefinitions[1].description,
      priority: 0,
    });
    assert.ok(json.columnDefinitions.every((c: any) => typeof c.description === 'string' && c.description.length > 0));
    assert.deepEqual(json.rows, []);
  });

  it('uses the default table for resources without a printer', () => {
    const t = toTable(
      'example.com',
      'widgets',
      [{ metadata: { name: 'w', creationTimestamp: '2024-05-01T10:00:00Z' } }, { metadata: { name: 'v' } }],
      {},
    );
    assert.deepEqual(
      t.columnDefinitions!.map((c) => [c.name, c.type, c.format]),
      [
        ['Name', 'string', 'name'],
        ['Created At', 'date', ''],
      ],
    );
    assert.deepEqual(
      t.rows.map((r) => r.cells),
      [
        ['w', '2024-05-01T10:00:00Z'],
        ['v', '0001-01-01T00:00:00Z'],
      ],
    );
  });

  it('sends column definitions only in the first watch event', () => {
    const first = toWatchEventTable('', 'pods', pod, true, { now: NOW });
    const next = toWatchEventTable('', 'pods', pod, false, { now: NOW });
    assert.equal(first.columnDefinitions!.length, 9);
    assert.equal(next.columnDefinitions, null);
    assert.deepEqual(next.metadata, { resourceVersion: '7' });
    assert.deepEqual(next.rows[0].cells, first.rows[0].cells);
  });

  it('prints a row with one cell per column for every printer, even for sparse objects', () => {
    for (const [key, printer] of [...PRINTERS, ['default', DEFAULT_PRINTER] as const]) {
      for (const obj of [{}, { metadata: { name: 'n' } }, { metadata: { name: 'n' }, spec: {}, status: {} }]) {
        const row = printer.row(obj, { now: T });
        assert.equal(row.cells.length, printer.columns.length, key);
        assert.ok(
          row.cells.every((c) => typeof c === 'string' || typeof c === 'number'),
          key,
        );
      }
    }
  });
});
