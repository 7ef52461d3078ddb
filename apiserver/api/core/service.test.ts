import { test } from 'node:test';
import assert from 'node:assert/strict';
import { serviceStrategy } from './service.ts';
import { fieldErrorString } from '../status-errors.ts';

function svc(spec: any = {}, meta: any = {}): any {
  return {
    metadata: { name: 'web', namespace: 'default', ...meta },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
  };
}
function errs(obj: any): string[] {
  serviceStrategy.defaults(obj);
  return serviceStrategy.validate(obj).map(fieldErrorString);
}

test('service defaults', () => {
  const s = svc({ ports: [{ port: 80 }, { name: 'b', port: 443, targetPort: 'https' }] });
  s.spec.ports[0].name = 'a';
  serviceStrategy.defaults(s);
  assert.equal(s.spec.type, 'ClusterIP');
  assert.equal(s.spec.sessionAffinity, 'None');
  assert.equal(s.spec.internalTrafficPolicy, 'Cluster');
  assert.equal(s.spec.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(s.spec.ipFamilies, ['IPv4']);
  assert.deepEqual(s.spec.ports, [
    { name: 'a', port: 80, protocol: 'TCP', targetPort: 80 },
    { name: 'b', port: 443, protocol: 'TCP', targetPort: 'https' },
  ]);
  assert.deepEqual(s.status, { loadBalancer: {} });
  assert.equal(s.spec.externalTrafficPolicy, undefined);
  const np = svc({ type: 'NodePort', sessionAffinity: 'ClientIP', clusterIP: '10.96.0.10' });
  serviceStrategy.defaults(np);
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.deepEqual(np.spec.sessionAffinityConfig, { clientIP: { timeoutSeconds: 10800 } });
  assert.deepEqual(np.spec.clusterIPs, ['10.96.0.10']);
  const headless = svc({ clusterIP: 'None', selector: undefined });
  serviceStrategy.defaults(headless);
  assert.equal(headless.spec.ipFamilyPolicy, 'RequireDualStack');
  const ext = svc({ type: 'ExternalName', externalName: 'example.com', ports: [] });
  serviceStrategy.defaults(ext);
  assert.equal(ext.spec.ipFamilies, undefined);
  assert.equal(ext.spec.internalTrafficPolicy, undefined);
  assert.deepEqual(serviceStrategy.validate(ext), []);
  assert.deepEqual(errs(svc()), []);
});

test('service validation', () => {
  assert.match(
    errs(svc({}, { name: '1web' }))[0],
    /^metadata\.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character/,
  );
  assert.deepEqual(errs(svc({ ports: [] })), ['spec.ports: Required value']);
  assert.deepEqual(errs(svc({ ports: [], clusterIP: 'None' })), [], 'headless services need no ports');
  assert.deepEqual(errs(svc({ ports: [{ port: 0 }] })), [
    'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
    'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive',
  ]);
  assert.deepEqual(errs(svc({ ports: [{ port: 70000 }] })), [
    'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
  ]);
  assert.deepEqual(errs(svc({ ports: [{ port: 80 }, { port: 81 }] })), [
    'spec.ports[0].name: Required value',
    'spec.ports[1].name: Required value',
  ]);
  assert.deepEqual(
    errs(
      svc({
        ports: [
          { name: 'a', port: 80 },
          { name: 'a', port: 81 },
        ],
      }),
    ),
    ['spec.ports[1].name: Duplicate value: "a"'],
  );
  assert.deepEqual(
    errs(
      svc({
        ports: [
          { name: 'a', port: 80 },
          { name: 'b', port: 80 },
        ],
      }),
    ),
    [
      'spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
    ],
  );
  assert.deepEqual(errs(svc({ ports: [{ port: 80, targetPort: 'Web' }] })), [
    'spec.ports[0].targetPort: Invalid value: "Web": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
  ]);
  assert.deepEqual(errs(svc({ type: 'Magic' })), [
    'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
  ]);
  assert.deepEqual(errs(svc({ clusterIP: '10.96.0.999' })), [
    'spec.clusterIPs[0]: Invalid value: "10.96.0.999": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)',
  ]);
  assert.deepEqual(errs(svc({ clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.6'] })), [
    'spec.clusterIPs: Invalid value: []string{"10.96.0.6"}: first value must match `clusterIP`',
  ]);
  assert.deepEqual(errs(svc({ ports: [{ port: 80, nodePort: 30080 }] })), [
    "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'",
  ]);
  assert.deepEqual(errs(svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 40000 }] })), [
    'spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
  ]);
  assert.deepEqual(errs(svc({ sessionAffinity: 'Sticky' })), [
    'spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"',
  ]);
  assert.deepEqual(errs(svc({ type: 'ExternalName', ports: [] })), ['spec.externalName: Required value']);
  assert.match(
    errs(svc({ selector: { 'a b': 'x' } }))[0],
    /^spec\.selector: Invalid value: "a b": name part must consist/,
  );
  assert.deepEqual(errs(svc({ externalIPs: ['127.0.0.1'] })), [
    'spec.externalIPs[0]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
  ]);
});

test('service updates keep the ClusterIP', () => {
  const old = svc({ clusterIP: '10.96.0.10' }, { resourceVersion: '7', uid: 'u' });
  serviceStrategy.defaults(old);
  const same = structuredClone(old);
  assert.deepEqual(serviceStrategy.validateUpdate(same, old), []);
  const omitted = structuredClone(old);
  delete omitted.spec.clusterIP;
  delete omitted.spec.clusterIPs;
  serviceStrategy.defaults(omitted);
  assert.deepEqual(
    serviceStrategy.validateUpdate(omitted, old).map(fieldErrorString),
    [],
    'an update without clusterIP keeps the allocated one',
  );
  const changed = structuredClone(old);
  changed.spec.clusterIP = '10.96.0.11';
  changed.spec.clusterIPs = ['10.96.0.11'];
  assert.deepEqual(serviceStrategy.validateUpdate(changed, old).map(fieldErrorString), [
    'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set',
  ]);
  // only clusterIP changed (kubectl patch -p '{"spec":{"clusterIP":...}}'): refused the same way
  const onlyClusterIp = structuredClone(old);
  onlyClusterIp.spec.clusterIP = '10.96.0.12';
  assert.deepEqual(serviceStrategy.validateUpdate(onlyClusterIp, old).map(fieldErrorString), [
    'spec.clusterIPs[0]: Invalid value: []string{"10.96.0.12"}: may not change once set',
  ]);
  assert.deepEqual(serviceStrategy.selectableFields(old), {
    'metadata.name': 'web',
    'metadata.namespace': 'default',
    'spec.clusterIP': '10.96.0.10',
    'spec.type': 'ClusterIP',
  });
});
