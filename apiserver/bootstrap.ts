/**
 * What a fresh Kubernetes cluster has from its first start, written by the API server once it listens: the default
 * namespaces, the kubernetes Service (its ClusterIP the first of the range) and its endpoints (the API server itself),
 * the default ServiceAccounts of the built-in namespaces and the cluster CA in kube-system/kube-root-ca.crt.
 */
import os from 'node:os';
import type { ServiceAllocator } from './allocator.ts';
import { DEFAULT_SERVICE_ACCOUNT } from './admission/service-account.ts';
import { storageKey, type Resource } from './rest/resource.ts';
import { ApiError } from './rest/status.ts';
import type { RestStore } from './rest/store.ts';

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** a resource by its registry key ('/v1/namespaces') */
export type ResourceByKey = (key: string) => Resource | undefined;

/** an object the API server writes itself */
interface OwnObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface BootstrapOptions {
  store: RestStore;
  resource: ResourceByKey;
  allocator: ServiceAllocator;
  apiPort: number;
  log: (m: string) => void;
  caCertPem?: string;
  /** the address the kubernetes Service's endpoints name */
  apiAddress?: string;
}

/** the address the kubernetes Service's endpoints name: the bind address when it is a specific one, else the host's */
export function endpointAddress(bind: string): string {
  if (bind && bind !== '0.0.0.0' && bind !== '::' && !bind.startsWith('127.') && bind !== '::1' && bind.includes('.'))
    return bind;
  return firstAddress();
}

export function firstAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/** the default namespaces and the kubernetes Service, as a fresh Kubernetes cluster has them */
export async function bootstrap(o: BootstrapOptions): Promise<void> {
  const ns = o.resource('/v1/namespaces')!;
  for (const name of DEFAULT_NAMESPACES) {
    if (!ns.cache.get(storageKey(ns, '', name))) await createIfMissing(o.store, ns, '', { metadata: { name } });
  }
  await o.store.dispatcher.waitFor(await o.store.backend.currentRevision(), 2000);
  await kubernetesService(o);
  // the kubernetes Service has no selector: its endpoints are the API server itself, written here as Kubernetes'
  // apiserver writes them, so that the node's service proxy forwards the ClusterIP to it
  if (o.apiAddress && !o.apiAddress.startsWith('127.')) {
    try {
      await apiEndpoints(o, o.apiAddress);
    } catch (e) {
      o.log(`could not write the endpoints of the kubernetes Service: ${(e as Error).message}`);
    }
  }
  // the default ServiceAccounts of the built-in namespaces (the serviceaccount controller keeps them in every namespace;
  // creating them here lets pods be admitted into these namespaces also when no controller runs)
  const sas = o.resource('/v1/serviceaccounts');
  if (sas) {
    for (const ns of DEFAULT_NAMESPACES) {
      if (sas.cache.get(storageKey(sas, ns, DEFAULT_SERVICE_ACCOUNT))) continue;
      await createIfMissing(o.store, sas, ns, { metadata: { name: DEFAULT_SERVICE_ACCOUNT } });
    }
  }
  // the cluster CA for clients in the cluster (node agents check the API server's client certificate against it)
  const cms = o.resource('/v1/configmaps');
  if (o.caCertPem && cms) {
    await upsert(o.store, cms, 'kube-system', 'kube-root-ca.crt', {
      metadata: { name: 'kube-root-ca.crt' },
      data: { 'ca.crt': o.caCertPem },
    });
  }
}

async function createIfMissing(store: RestStore, r: Resource, ns: string, obj: OwnObject): Promise<void> {
  try {
    await store.create(r, ns, obj);
  } catch (e) {
    if (!(e instanceof ApiError && e.reason === 'AlreadyExists')) throw e;
  }
}

/** the kubernetes Service, after freeing the addresses an interrupted Service write left reserved */
async function kubernetesService(o: BootstrapOptions): Promise<void> {
  const svc = o.resource('/v1/services')!;
  const freed = await o.allocator.repair([...svc.cache.items.values()].map((e) => e.obj));
  if (freed > 0) o.log(`service allocator: freed ${freed} reservations left by an interrupted write`);
  if (svc.cache.get(storageKey(svc, 'default', 'kubernetes'))) return;
  await createIfMissing(o.store, svc, 'default', {
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      clusterIP: o.allocator.firstIp,
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: o.apiPort }],
      sessionAffinity: 'None',
      type: 'ClusterIP',
    },
  });
}

/** the Endpoints and EndpointSlice of the kubernetes Service: this server's address and port */
async function apiEndpoints(o: BootstrapOptions, address: string): Promise<void> {
  await upsert(o.store, o.resource('/v1/endpoints')!, 'default', 'kubernetes', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' },
    },
    subsets: [{ addresses: [{ ip: address }], ports: [{ name: 'https', port: o.apiPort, protocol: 'TCP' }] }],
  });
  const slices = o.resource('discovery.k8s.io/v1/endpointslices');
  if (!slices) return;
  await upsert(o.store, slices, 'default', 'kubernetes', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: 'kubernetes',
      namespace: 'default',
      labels: { 'kubernetes.io/service-name': 'kubernetes' },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
    ports: [{ name: 'https', port: o.apiPort, protocol: 'TCP' }],
  });
}

/** create or replace an object the API server owns, writing nothing when it is already as wanted */
async function upsert(store: RestStore, r: Resource, ns: string, name: string, desired: OwnObject): Promise<void> {
  await store.guaranteedUpdate(
    r,
    ns,
    name,
    (cur) => {
      if (!cur) return structuredClone(desired);
      const next = {
        ...structuredClone(desired),
        metadata: { ...cur.metadata, labels: { ...(cur.metadata?.labels ?? {}), ...desired.metadata.labels } },
      };
      delete next.metadata.resourceVersion;
      return next;
    },
    { allowCreate: true },
  );
}
