import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from './object.ts';
import {
  canonicalJson,
  maxRevision,
  newRevision,
  revisionData,
  revisionOfTemplate,
  revisionsToPrune,
  safeEncode,
  templateHash,
} from './history.ts';

const web = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.25' }] } };
const db = {
  metadata: { labels: { app: 'db', tier: 'data' }, annotations: { 'example.com/owner': 'équipe' } },
  spec: {
    containers: [
      {
        name: 'db',
        image: 'postgres:16',
        ports: [{ containerPort: 5432, name: 'pg', protocol: 'TCP' }],
        env: [{ name: 'PGDATA', value: '/var/lib/postgresql/data' }],
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      },
    ],
    terminationGracePeriodSeconds: 30,
    tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
  },
};

// These names are in clusters already (ReplicaSets web-59bd5955b7, ControllerRevisions agent-8669d4bf8, ...): a
// change to the hash gives every owner a second ReplicaSet or revision for the template it already has.
test('template hashes are pinned', () => {
  assert.equal(templateHash(web), '59bd5955b7');
  assert.equal(templateHash(web, 1), '86c577966c');
  assert.equal(templateHash(web, 2), '86dd556d8b');
  assert.equal(templateHash(db), '8669d4bf8');
  assert.equal(templateHash(db, 1), '6f667d6966');
  assert.equal(templateHash({}), '5859f96865');
  assert.equal(templateHash(undefined), '5ffbfbbd64');
  assert.equal(templateHash(web, 0), templateHash(web), 'a collisionCount of 0 is none');
});

test('a template hashes the same whatever its key order, and with null fields as without them', () => {
  const reordered = {
    spec: { containers: [{ image: 'nginx:1.25', name: 'web' }] },
    metadata: { labels: { app: 'web' } },
  };
  assert.equal(templateHash(reordered), '59bd5955b7');
  // kubectl sends creationTimestamp: null and the API server keeps it, as Go's encoding of the typed template does
  const fromKubectl = { ...web, metadata: { ...web.metadata, creationTimestamp: null } };
  assert.equal(templateHash(fromKubectl), '59bd5955b7');
  assert.equal(canonicalJson({ b: [1, null, { d: undefined, c: 'x' }], a: null }), '{"b":[1,null,{"c":"x"}]}');
});

test('hashes are written without vowels', () => {
  assert.equal(safeEncode('0123456789'), '456789bcdf');
  assert.match(templateHash(db), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});

test('ControllerRevisions: data that puts the template back, found again by their template, pruned oldest first', () => {
  const owner: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'kube-system', uid: 'u1' },
  };
  const r1 = newRevision(owner, `agent-${templateHash(web)}`, { app: 'web' }, web, 1);
  assert.deepEqual(r1.data, { spec: { template: { ...web, $patch: 'replace' } } });
  assert.deepEqual(r1.metadata.ownerReferences, [
    { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'agent', uid: 'u1', controller: true, blockOwnerDeletion: true },
  ]);
  assert.deepEqual(revisionData(db), { spec: { template: { ...db, $patch: 'replace' } } });
  const r2 = newRevision(owner, `agent-${templateHash(db)}`, { app: 'db' }, db, 2);
  // what the API gives back has its keys in another order and kubectl's null creationTimestamp
  const fromApi = { ...web, metadata: { creationTimestamp: null, ...web.metadata } };
  assert.equal(revisionOfTemplate([r1, r2], fromApi), r1);
  assert.equal(revisionOfTemplate([r1], db), undefined);
  assert.equal(maxRevision([r1, r2]), 2);
  assert.deepEqual(revisionsToPrune([r1, r2], new Set(), 1), [r1]);
  assert.deepEqual(revisionsToPrune([r1, r2], new Set([r1.metadata.name!]), 0), [r2]);
});
