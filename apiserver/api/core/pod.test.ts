import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podStrategy } from './pod.ts';
import { fieldErrorString } from '../status-errors.ts';

function pod(spec: any = {}, meta: any = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'default', uid: 'u1', ...meta },
    spec: { containers: [{ name: 'c', image: 'nginx:1.25' }], ...spec },
  };
}
function errs(obj: any): string[] {
  podStrategy.defaults(obj);
  return podStrategy.validate(obj).map(fieldErrorString);
}
function stored(p: any): any {
  podStrategy.defaults(p);
  p.metadata.resourceVersion = '5';
  return p;
}

test('pod defaults', () => {
  const p = pod({
    containers: [
      {
        name: 'a',
        image: 'nginx',
        ports: [{ containerPort: 80 }],
        livenessProbe: { httpGet: { port: 80 } },
        resources: { limits: { cpu: '0.5', memory: 134217728 } },
      },
      { name: 'b', image: 'nginx:latest' },
      { name: 'c', image: 'registry:5000/app:v1' },
      { name: 'd', image: 'app@sha256:abc' },
    ],
    volumes: [{ name: 'v' }, { name: 's', secret: { secretName: 'x' } }],
  });
  podStrategy.defaults(p);
  const [a, b, c, d] = p.spec.containers;
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.dnsPolicy, 'ClusterFirst');
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.schedulerName, 'default-scheduler');
  assert.deepEqual(p.spec.securityContext, {});
  assert.equal(p.spec.enableServiceLinks, true);
  // priority and the default tolerations are admission's (apiserver/admission), not defaults
  assert.equal(p.spec.priority, undefined);
  assert.equal(p.spec.tolerations, undefined);
  assert.deepEqual(
    [a, b, c, d].map((x: any) => x.imagePullPolicy),
    ['Always', 'Always', 'IfNotPresent', 'IfNotPresent'],
  );
  assert.equal(a.terminationMessagePath, '/dev/termination-log');
  assert.equal(a.terminationMessagePolicy, 'File');
  assert.equal(a.ports[0].protocol, 'TCP');
  assert.deepEqual(a.livenessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' },
    timeoutSeconds: 1,
    periodSeconds: 10,
    successThreshold: 1,
    failureThreshold: 3,
  });
  assert.deepEqual(
    a.resources,
    { limits: { cpu: '500m', memory: '134217728' }, requests: { cpu: '500m', memory: '134217728' } },
    'requests default to limits, quantities canonical',
  );
  assert.deepEqual(p.spec.volumes[0], { name: 'v', emptyDir: {} });
  assert.equal(p.spec.volumes[1].secret.defaultMode, 420);
  assert.deepEqual(podStrategy.validate(p), []);
});

test('serviceAccount mirrors serviceAccountName; host network pods expose their container ports', () => {
  const p = pod({ serviceAccount: 'builder' }, { resourceVersion: '3' });
  podStrategy.defaults(p);
  assert.equal(p.spec.serviceAccountName, 'builder');
  const h = pod({ hostNetwork: true, containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] });
  podStrategy.defaults(h);
  assert.equal(h.spec.containers[0].ports[0].hostPort, 8080);
});

test('pod validation: containers', () => {
  assert.deepEqual(errs(pod({ containers: [] })), ['spec.containers: Required value']);
  assert.deepEqual(errs(pod({ containers: [{ name: 'c', image: '' }] })), ['spec.containers[0].image: Required value']);
  assert.deepEqual(
    errs(
      pod({
        containers: [
          { name: 'c', image: 'a' },
          { name: 'c', image: 'b' },
        ],
      }),
    ),
    ['spec.containers[1].name: Duplicate value: "c"'],
  );
  assert.deepEqual(errs(pod({ containers: [{ image: 'a' }] })), ['spec.containers[0].name: Required value']);
  assert.match(
    errs(pod({ containers: [{ name: 'Web_1', image: 'a' }] }))[0],
    /^spec\.containers\[0\]\.name: Invalid value: "Web_1": a lowercase RFC 1123 label must consist of/,
  );
  assert.deepEqual(errs(pod({ containers: [{ name: 'c', image: 'a', imagePullPolicy: 'Sometimes' }] })), [
    'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
  ]);
  assert.deepEqual(errs(pod({ initContainers: [{ name: 'c', image: 'a' }] })), [
    'spec.initContainers[0].name: Duplicate value: "c"',
  ]);
  assert.deepEqual(errs(pod({ containers: [{ name: 'c', image: 'a', restartPolicy: 'Always' }] })), [
    'spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers',
  ]);
});

test('pod validation: ports, env, probes, resources', () => {
  assert.deepEqual(
    errs(
      pod({
        containers: [
          { name: 'c', image: 'a', ports: [{ containerPort: 70000 }, { containerPort: 80, protocol: 'ICMP' }, {}] },
        ],
      }),
    ),
    [
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
      'spec.containers[0].ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      'spec.containers[0].ports[2].containerPort: Required value',
    ],
  );
  assert.deepEqual(
    errs(
      pod({
        containers: [
          {
            name: 'c',
            image: 'a',
            ports: [
              { name: 'http', containerPort: 80 },
              { name: 'http', containerPort: 81 },
            ],
          },
        ],
      }),
    ),
    ['spec.containers[0].ports[1].name: Duplicate value: "http"'],
  );
  assert.deepEqual(
    errs(
      pod({
        containers: [
          {
            name: 'c',
            image: 'a',
            env: [
              { value: 'x' },
              { name: 'A=B' },
              { name: 'X', value: 'y', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
          },
        ],
      }),
    ),
    [
      'spec.containers[0].env[0].name: Required value',
      'spec.containers[0].env[1].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than \'=\'',
      'spec.containers[0].env[2].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    ],
  );
  assert.deepEqual(
    errs(
      pod({
        containers: [
          { name: 'c', image: 'a', env: [{ name: 'N', valueFrom: { fieldRef: { fieldPath: 'spec.foo' } } }] },
        ],
      }),
    ),
    [
      'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "spec.foo": supported values: "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
    ],
  );
  assert.deepEqual(errs(pod({ containers: [{ name: 'c', image: 'a', livenessProbe: {} }] })), [
    'spec.containers[0].livenessProbe: Required value: must specify a handler type',
  ]);
  assert.deepEqual(
    errs(
      pod({
        containers: [
          { name: 'c', image: 'a', readinessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 80 } } },
        ],
      }),
    ),
    ['spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type'],
  );
  assert.deepEqual(
    errs(
      pod({
        containers: [{ name: 'c', image: 'a', livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } }],
      }),
    ),
    ['spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'],
  );
  assert.deepEqual(
    errs(pod({ containers: [{ name: 'c', image: 'a', resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } }] })),
    ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
  );
  assert.deepEqual(
    errs(pod({ containers: [{ name: 'c', image: 'a', resources: { requests: { gpu: '1', memory: 'lots' } } }] })),
    [
      'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers',
      'spec.containers[0].resources.requests[memory]: Invalid value: "lots": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    ],
  );
});

test('pod validation: volumes and mounts', () => {
  assert.deepEqual(
    errs(
      pod({
        volumes: [{ name: 'v' }, { name: 'v' }],
        containers: [
          {
            name: 'c',
            image: 'a',
            volumeMounts: [
              { name: 'v', mountPath: '/a' },
              { name: 'w', mountPath: '/a' },
            ],
          },
        ],
      }),
    ),
    [
      'spec.volumes[1].name: Duplicate value: "v"',
      'spec.containers[0].volumeMounts[1].name: Not found: "w"',
      'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/a": must be unique',
    ],
  );
  assert.deepEqual(errs(pod({ volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] })), [
    'spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type',
  ]);
  assert.deepEqual(errs(pod({ volumes: [{ name: 'v', configMap: {} }] })), [
    'spec.volumes[0].configMap.name: Required value',
  ]);
});

test('pod validation: spec-level fields', () => {
  assert.deepEqual(errs(pod({ restartPolicy: 'Sometimes' })), [
    'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
  ]);
  assert.deepEqual(errs(pod({ dnsPolicy: 'Bogus' })), [
    'spec.dnsPolicy: Unsupported value: "Bogus": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
  ]);
  assert.deepEqual(errs(pod({ activeDeadlineSeconds: 0 })), [
    'spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive',
  ]);
  assert.deepEqual(errs(pod({ tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] })), [
    'spec.tolerations[0].operator: Invalid value: core.Toleration{Key:"k", Operator:"Exists", Value:"v", Effect:"", TolerationSeconds:(*int64)(nil)}: value must be empty when `operator` is \'Exists\'',
  ]);
  assert.deepEqual(errs(pod({ tolerations: [{ key: 'k', tolerationSeconds: 5, effect: 'NoSchedule' }] })), [
    'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set',
  ]);
  assert.match(
    errs(pod({ nodeSelector: { 'bad key': 'x' } }))[0],
    /^spec\.nodeSelector: Invalid value: "bad key": name part must consist/,
  );
  assert.match(
    errs(pod({}, { name: 'Web_1' }))[0],
    /^metadata\.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain/,
  );
  assert.match(
    errs(pod({}, { labels: { 'x/y/z': 'a' } }))[0],
    /^metadata\.labels: Invalid value: "x\/y\/z": a qualified name must consist/,
  );
});

test('pod updates: only images, activeDeadlineSeconds, added tolerations', () => {
  const notReady = { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' };
  const old = stored(pod({ tolerations: [{ ...notReady, tolerationSeconds: 300 }] }));
  const upd = (mut: (p: any) => void) => {
    const p = structuredClone(old);
    mut(p);
    podStrategy.defaults(p);
    return podStrategy.validateUpdate(p, old).map(fieldErrorString);
  };
  assert.deepEqual(
    upd((p) => (p.spec.containers[0].image = 'nginx:1.26')),
    [],
  );
  assert.deepEqual(
    upd((p) => (p.metadata.labels = { a: 'b' })),
    [],
  );
  assert.deepEqual(
    upd((p) => (p.spec.activeDeadlineSeconds = 10)),
    [],
  );
  assert.deepEqual(
    upd((p) => p.spec.tolerations.push({ key: 'x', operator: 'Exists' })),
    [],
  );
  assert.deepEqual(
    upd((p) => p.spec.tolerations.pop()),
    ['spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds'],
  );
  const changed = upd((p) => (p.spec.containers[0].ports = [{ containerPort: 80 }]));
  assert.equal(changed.length, 1);
  assert.ok(
    changed[0].startsWith(
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
    ),
  );
  assert.match(changed[0], /spec\.containers\[0\]\.ports/);
  assert.deepEqual(
    upd((p) => p.spec.containers.push({ name: 'x', image: 'y' })),
    ['spec.containers: Forbidden: pod updates may not add or remove containers'],
  );
  assert.deepEqual(
    upd((p) => (p.spec.containers[0].image = '')),
    ['spec.containers[0].image: Required value'],
  );
  const withAds = stored(pod({ activeDeadlineSeconds: 10 }));
  const p2 = structuredClone(withAds);
  p2.spec.activeDeadlineSeconds = 20;
  assert.deepEqual(podStrategy.validateUpdate(p2, withAds).map(fieldErrorString), [
    'spec.activeDeadlineSeconds: Invalid value: 20: must be less than or equal to previous value',
  ]);
  const p3 = structuredClone(old);
  p3.metadata.namespace = 'other';
  assert.deepEqual(podStrategy.validateUpdate(p3, old).map(fieldErrorString), [
    'metadata.namespace: Invalid value: "other": field is immutable',
  ]);
});

test('pod status updates and selectable fields', () => {
  const old = stored(pod());
  const p = structuredClone(old);
  p.status = { phase: 'Running', podIPs: [{ ip: '10.0.0.999' }] };
  assert.deepEqual(podStrategy.validateStatusUpdate!(p, old).map(fieldErrorString), [
    'status.podIPs[0].ip: Invalid value: "10.0.0.999": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  p.status.podIPs = [{ ip: '10.0.0.9' }];
  p.spec.nodeName = 'n1';
  assert.deepEqual(podStrategy.selectableFields(p), {
    'metadata.name': 'p',
    'metadata.namespace': 'default',
    'spec.nodeName': 'n1',
    'spec.restartPolicy': 'Always',
    'spec.schedulerName': 'default-scheduler',
    'spec.serviceAccountName': '',
    'spec.hostNetwork': 'false',
    'status.phase': 'Running',
    'status.podIP': '10.0.0.9',
    'status.nominatedNodeName': '',
  });
});
