import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../../../api/registry.ts';
import { podStrategy } from '../../../api/core/pod.ts';
import { PodStrategy, podQosClass } from './strategy.ts';

const pods = new PodStrategy(lookupResource('', 'v1', 'pods')!, podStrategy);
const container = (requests?: object, limits?: object) => ({ name: 'c', image: 'x', resources: { requests, limits } });

describe('the pod strategy', () => {
  it('starts a pod Pending with its QoS class', () => {
    const pod = { metadata: { name: 'p' }, spec: { containers: [container()] }, status: { phase: 'Running' } };
    pods.prepareForCreate(pod);
    assert.deepEqual(pod.status, { phase: 'Pending', qosClass: 'BestEffort' });
  });

  it('tells the QoS class: Guaranteed, Burstable, BestEffort', () => {
    const equal = { cpu: '1', memory: '1Gi' };
    assert.equal(podQosClass({ containers: [container(equal, equal)] }), 'Guaranteed');
    assert.equal(podQosClass({ containers: [container(undefined, equal)] }), 'Guaranteed');
    assert.equal(podQosClass({ containers: [container({ cpu: '500m' }, equal)] }), 'Burstable');
    assert.equal(podQosClass({ containers: [container()] }), 'BestEffort');
    assert.equal(podQosClass(undefined), 'BestEffort');
  });

  it('deletes a pod gracefully only while a node may be running it', () => {
    const on = (phase: string, spec: object = {}) => ({
      metadata: {},
      spec: { nodeName: 'n1', ...spec },
      status: { phase },
    });
    assert.equal(pods.gracePeriod(on('Running'), undefined), 30);
    assert.equal(pods.gracePeriod(on('Running', { terminationGracePeriodSeconds: 5 }), undefined), 5);
    assert.equal(pods.gracePeriod(on('Running', { terminationGracePeriodSeconds: 5 }), 0), 0);
    assert.equal(pods.gracePeriod(on('Running'), 12), 12);
    assert.equal(pods.gracePeriod(on('Succeeded'), 12), 0);
    assert.equal(pods.gracePeriod({ metadata: {}, spec: {} }, 12), 0);
  });

  it('keeps owner references on status writes, and is indexed by node', () => {
    const cur = { metadata: { name: 'p', ownerReferences: [{ uid: 'u' }] }, spec: { nodeName: 'n' }, status: {} };
    const next = { metadata: { name: 'p' }, status: { phase: 'Running' } };
    pods.prepareForUpdate(next, cur, 'status');
    assert.deepEqual(next.metadata, { name: 'p', ownerReferences: [{ uid: 'u' }] });
    assert.equal(pods.indexField, 'spec.nodeName');
    assert.equal(pods.returnDeletedObject, true);
  });
});
