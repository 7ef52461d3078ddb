import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lookupResource } from '../api/registry.ts';
import type { TypeStrategy } from '../rest/resource.ts';
import { restStrategy } from './index.ts';

/** a type strategy that records what it is asked */
const asked: string[] = [];
const type: TypeStrategy = {
  defaults: (o) => void asked.push(`defaults ${o.metadata?.name}`),
  validate: () => [],
  validateUpdate: () => [{ type: 'FieldValueInvalid', field: 'spec' }],
  validateStatusUpdate: () => [{ type: 'FieldValueInvalid', field: 'status' }],
  selectableFields: (o) => ({ 'metadata.name': o.metadata?.name ?? '' }),
};
const strategyOf = (group: string, version: string, resource: string) =>
  restStrategy(lookupResource(group, version, resource)!, type);

describe('the generic REST strategy', () => {
  it('resets the status of a new object of a resource with a status subresource, and only then', () => {
    const deployment = { metadata: { name: 'd' }, status: { replicas: 3 } };
    strategyOf('apps', 'v1', 'deployments').prepareForCreate(deployment);
    assert.deepEqual(deployment.status, {});
    const cm = { metadata: { name: 'c' }, status: { x: 1 } };
    strategyOf('', 'v1', 'configmaps').prepareForCreate(cm);
    assert.deepEqual(cm.status, { x: 1 });
  });

  it('keeps the stored status on main-resource writes, and the stored rest on status writes', () => {
    const s = strategyOf('apps', 'v1', 'deployments');
    const cur = {
      kind: 'Deployment',
      metadata: { name: 'd', labels: { a: 'b' } },
      spec: { replicas: 1 },
      status: { r: 1 },
    };
    const main = { kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2 }, status: { r: 9 } };
    s.prepareForUpdate(main, cur, undefined);
    assert.deepEqual(main, { kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 2 }, status: { r: 1 } });
    const status = {
      kind: 'Deployment',
      metadata: { name: 'd', labels: { x: 'y' } },
      spec: { replicas: 5 },
      status: { r: 2 },
    };
    s.prepareForUpdate(status, cur, 'status');
    // a Deployment's labels are kept as they were on status writes, as Kubernetes' status strategy resets them
    assert.deepEqual(status, {
      kind: 'Deployment',
      metadata: { name: 'd', labels: { a: 'b' } },
      spec: { replicas: 1 },
      status: { r: 2 },
    });
  });

  it('validates updates of the status with the type status rules', () => {
    const s = strategyOf('apps', 'v1', 'deployments');
    const o = { metadata: { name: 'd' } };
    assert.equal(s.validateUpdate(o, o, 'status')[0].field, 'status');
    assert.equal(s.validateUpdate(o, o, undefined)[0].field, 'spec');
  });

  it('declares traits per resource: generation, create on update, the deleted object, propagation', () => {
    const d = strategyOf('apps', 'v1', 'deployments');
    assert.deepEqual(
      [d.generation, d.createOnUpdate, d.returnDeletedObject, d.defaultPropagation],
      [true, false, false, 'Background'],
    );
    const lease = strategyOf('coordination.k8s.io', 'v1', 'leases');
    assert.deepEqual([lease.generation, lease.createOnUpdate], [false, true]);
    assert.equal(strategyOf('', 'v1', 'events').defaultPropagation, 'Unsupported');
    assert.equal(strategyOf('', 'v1', 'services').returnDeletedObject, true);
    assert.equal(strategyOf('', 'v1', 'configmaps').gracePeriod({ metadata: {} }, 30), 0);
  });

  it('converts objects to a Table with the resource printer', () => {
    const table = strategyOf('', 'v1', 'configmaps').convertToTable(
      [{ metadata: { name: 'c', creationTimestamp: '2024-01-01T00:00:00Z' }, data: { a: '1' } }],
      { resourceVersion: '5' },
      'None',
    );
    assert.deepEqual(
      table.columnDefinitions?.map((c) => c.name),
      ['Name', 'Data', 'Age'],
    );
    assert.deepEqual([table.rows[0].cells[0], table.rows[0].cells[1], table.rows[0].object], ['c', 1, null]);
  });

  it('asks the scale selector of the type, else spec.selector', () => {
    const rs = strategyOf('apps', 'v1', 'replicasets');
    assert.deepEqual(rs.scaleSelector({ spec: { selector: { matchLabels: { a: 'b' } } } }), {
      matchLabels: { a: 'b' },
    });
  });
});
