import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from '../openapi/definitions.ts';
import { unknownFields } from './field-validation.ts';

describe('unknownFields', () => {
  it('reports each undeclared field with its path', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', labels: { a: 'b' }, bogus: 1 },
      spec: { containers: [{ name: 'c', image: 'i', imagePullPolcy: 'Always', resources: { limits: { cpu: '1' } } }] },
      extra: true,
    };
    assert.deepEqual(unknownFields(pod, 'io.k8s.api.core.v1.Pod', resolve), [
      'unknown field "metadata.bogus"',
      'unknown field "spec.containers[0].imagePullPolcy"',
      'unknown field "extra"',
    ]);
  });
  it('accepts a correct Deployment', () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { a: 'b' } },
        template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      },
    };
    assert.deepEqual(unknownFields(d, 'io.k8s.api.apps.v1.Deployment', resolve), []);
  });
});
