import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../openapi/index.ts';
import { base64Error, typeError } from './typed-decode.ts';
import { unknownFields } from './field-validation.ts';

const pod = (spec: unknown, metadata: unknown = { name: 'p' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata, spec });
const podError = (o: unknown) => typeError(o, 'Pod', 'v1', 'io.k8s.api.core.v1.Pod', resolve);
const cmError = (o: unknown) => typeError(o, 'ConfigMap', 'v1', 'io.k8s.api.core.v1.ConfigMap', resolve);
const crError = (o: unknown) =>
  typeError(o, 'ControllerRevision', 'v1', 'io.k8s.api.apps.v1.ControllerRevision', resolve);
const prefix = (kind: string) => `${kind} in version "v1" cannot be handled as a ${kind}: `;

describe('decoding into the types', () => {
  it('accepts what the Go types hold, nulls included', () => {
    const ok = pod({
      containers: [
        {
          name: 'a',
          image: 'i',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { limits: { cpu: 1, memory: '128Mi' }, requests: { cpu: '100m' } },
          livenessProbe: { httpGet: { port: 'http', path: '/' }, periodSeconds: 10 },
          readinessProbe: { tcpSocket: { port: 8080 } },
          env: [{ name: 'X', value: null }],
        },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      hostNetwork: false,
      nodeSelector: { disk: 'ssd' },
    });
    assert.equal(podError(ok), undefined);
    assert.equal(
      podError(
        pod(null, { name: 'p', creationTimestamp: '2026-01-02T03:04:05Z', deletionTimestamp: null, labels: null }),
      ),
      undefined,
    );
    assert.equal(
      cmError({ metadata: { name: 'c' }, data: { a: 'b' }, binaryData: { b: 'aGVsbG8=' }, immutable: true }),
      undefined,
    );
    // free-form values are not looked into (RawExtension, FieldsV1)
    assert.equal(
      cmError({ metadata: { name: 'c', managedFields: [{ fieldsV1: { 'f:data': { 7: [1, { x: true }] } } }] } }),
      undefined,
    );
  });

  it("refuses values of the wrong kind in Go's words: struct, field path without indices or keys, Go type", () => {
    const cases: Array<[unknown, string]> = [
      [
        cmError({ metadata: { name: 'c' }, data: { a: 1 } }),
        'json: cannot unmarshal number into Go struct field ConfigMap.data of type string',
      ],
      [
        cmError({ metadata: { name: 'c' }, data: ['x'] }),
        'json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string',
      ],
      [
        cmError({ metadata: 'x' }),
        'json: cannot unmarshal string into Go struct field ConfigMap.metadata of type v1.ObjectMeta',
      ],
      [
        cmError({ metadata: { name: 'c', labels: { a: true } } }),
        'json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string',
      ],
      [
        cmError({ immutable: 'yes' }),
        'json: cannot unmarshal string into Go struct field ConfigMap.immutable of type bool',
      ],
      [
        cmError({ binaryData: { b: 7 } }),
        'json: cannot unmarshal number into Go struct field ConfigMap.binaryData of type []uint8',
      ],
      [
        podError(pod({ containers: 'x' })),
        'json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container',
      ],
      [
        podError(pod({ containers: [{ name: 'a', image: 5 }] })),
        'json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string',
      ],
      [
        podError(pod({ containers: [{ name: 'a', ports: [{ containerPort: '80' }] }] })),
        'json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
      ],
      [
        podError(pod({ containers: [{ name: 'a', ports: [{ containerPort: 80.5 }] }] })),
        'json: cannot unmarshal number 80.5 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32',
      ],
      [
        podError(pod({ containers: [{ name: 'a', ports: [{ containerPort: 2 ** 31 }] }] })),
        `json: cannot unmarshal number ${2 ** 31} into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32`,
      ],
      [
        podError(pod({ terminationGracePeriodSeconds: 1.5 })),
        'json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64',
      ],
      [
        podError(pod({ containers: [{ name: 'a', resources: { limits: { cpu: 'lots' } } }] })),
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ],
      [
        podError(pod({ containers: [{ name: 'a', readinessProbe: { tcpSocket: { port: 1.5 } } }] })),
        'json: cannot unmarshal number 1.5 into Go value of type int32',
      ],
      [
        podError(pod({ containers: [{ name: 'a', readinessProbe: { tcpSocket: { port: true } } }] })),
        'json: cannot unmarshal bool into Go value of type int32',
      ],
      [
        podError(pod({}, { name: 'p', creationTimestamp: 'yesterday' })),
        'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"',
      ],
    ];
    for (const [got, inner] of cases)
      assert.equal(got, prefix(got && String(got).startsWith('ConfigMap') ? 'ConfigMap' : 'Pod') + inner);
  });

  it('reports the first error in document order', () => {
    const e = podError(pod({ containers: [{ name: 1, image: 2 }] }));
    assert.match(e!, /Container\.spec\.containers\.name of type string$/);
  });

  it("checks base64 as Go's standard encoding does", () => {
    for (const ok of ['', 'aGVsbG8=', 'aGVsbA==', 'aGVs', 'aGVs\nbG8=', 'aGVsbG8=\r\n'])
      assert.equal(base64Error(ok), undefined, ok);
    const bad: Array<[string, number]> = [
      ['aGVsbG8', 4],
      ['a', 0],
      ['aGVsb!8=', 5],
      ['a===', 1],
      ['aGVsbA=', 7],
      ['aGVsbA=x', 6],
      ['aGVsbG8=aGVs', 8],
    ];
    for (const [s, at] of bad) assert.equal(base64Error(s), `illegal base64 data at input byte ${at}`, s);
  });
});

describe('what decoding leaves of optional empty values', () => {
  it('drops null, empty lists and empty maps of optional fields, keeps required ones, times and empty structs', () => {
    const p: any = {
      metadata: { name: 'p', labels: {}, annotations: null, finalizers: [], creationTimestamp: null },
      spec: {
        containers: [
          { name: 'a', image: 'i', env: [], args: null, ports: [], securityContext: {}, resources: { limits: {} } },
        ],
        nodeSelector: {},
        volumes: null,
      },
    };
    assert.equal(podError(p), undefined);
    assert.deepEqual(p.metadata, { name: 'p', creationTimestamp: null });
    assert.deepEqual(p.spec, { containers: [{ name: 'a', image: 'i', securityContext: {}, resources: {} }] });
    // a required list stays, even empty or null
    const bare: any = { metadata: { name: 'p' }, spec: { containers: [] } };
    podError(bare);
    assert.deepEqual(bare.spec, { containers: [] });
    const cm: any = { metadata: { name: 'c' }, data: null, binaryData: {} };
    assert.equal(cmError(cm), undefined);
    assert.deepEqual(cm, { metadata: { name: 'c' } });
  });

  it('drops the zero values of omitempty fields Go holds as values, keeps those of pointers and of fields without omitempty', () => {
    const d: any = {
      metadata: { name: 'd', namespace: '', generation: 0 },
      spec: {
        replicas: 0,
        paused: false,
        minReadySeconds: 0,
        revisionHistoryLimit: 0,
        template: {
          spec: {
            containers: [
              { name: 'a', image: '', tty: false, ports: [{ containerPort: 0, hostPort: 0, protocol: '' }] },
            ],
          },
        },
      },
      status: { replicas: 0, readyReplicas: 0, availableReplicas: 1, observedGeneration: 0 },
    };
    assert.equal(typeError(d, 'Deployment', 'v1', 'io.k8s.api.apps.v1.Deployment', resolve), undefined);
    assert.deepEqual(d, {
      metadata: { name: 'd' },
      // replicas and revisionHistoryLimit are *int32: their 0 is a value
      spec: {
        replicas: 0,
        revisionHistoryLimit: 0,
        template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 0 }] }] } },
      },
      status: { availableReplicas: 1 },
    });
    const pod: any = {
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a', image: 'i' }], nodeName: '' },
      status: { phase: '', podIP: '' },
    };
    podError(pod);
    assert.deepEqual(pod.spec, { containers: [{ name: 'a', image: 'i' }] });
    assert.deepEqual(pod.status, {});
  });
});

describe('free-form values', () => {
  /** a value of objects nested n deep */
  const nested = (n: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = { a: v };
    return v;
  };
  it('are measured against the nesting limit where they sit (a patch can nest them deeper than its body)', () => {
    // the ControllerRevision is depth 1 and data depth 2: data may nest 999 more
    assert.equal(crError({ metadata: { name: 'r' }, revision: 1, data: nested(999) }), undefined);
    assert.equal(
      crError({ metadata: { name: 'r' }, revision: 1, data: nested(1000) }),
      prefix('ControllerRevision') + 'json: exceeded max depth: arrays and objects nest more than 1000 deep',
    );
    // managedFields[].fieldsV1 sits at depth 4 (object, metadata, managedFields, entry)
    const mf = (n: number) =>
      cmError({ metadata: { name: 'c', managedFields: [{ manager: 'm', fieldsV1: nested(n) }] } });
    assert.equal(mf(996), undefined);
    assert.match(mf(997) ?? '', /exceeded max depth/);
    assert.match(mf(100_000) ?? '', /exceeded max depth/);
  });
});

describe('unknown fields', () => {
  it('are removed with prune, reported either way, and free-form values are kept', () => {
    const cm: any = {
      metadata: { name: 'c', bogus: 1, managedFields: [{ fieldsV1: { 'f:x': {} } }] },
      extra: { deep: [1] },
      data: { a: 'b' },
    };
    assert.deepEqual(unknownFields(cm, 'io.k8s.api.core.v1.ConfigMap', resolve), [
      'unknown field "metadata.bogus"',
      'unknown field "extra"',
    ]);
    assert.ok('extra' in cm, 'reporting alone changes nothing');
    assert.deepEqual(unknownFields(cm, 'io.k8s.api.core.v1.ConfigMap', resolve, { prune: true }), [
      'unknown field "metadata.bogus"',
      'unknown field "extra"',
    ]);
    assert.deepEqual(cm, { metadata: { name: 'c', managedFields: [{ fieldsV1: { 'f:x': {} } }] }, data: { a: 'b' } });
  });
});
