/**
 * The admission plugins, in the order they run (Kubernetes' order: NamespaceLifecycle first, then the defaulting and
 * checking plugins). A plugin is added by writing its file and one line in this list.
 */
import type { CachedObject } from '../watchcache/cache.ts';
import { AdmissionChain, type AdmissionPlugin } from './admission.ts';
import { DefaultTolerationSeconds } from './default-toleration-seconds.ts';
import { NamespaceLifecycle } from './namespace-lifecycle.ts';
import { Priority } from './priority.ts';
import { ServiceAccount, type ServiceAccountLookup } from './service-account.ts';

export { AdmissionChain } from './admission.ts';
export type { AdmissionPlugin, Attributes, Operation } from './admission.ts';

/** what the plugins read of the cluster */
export interface AdmissionDeps {
  /** a Namespace as the watch cache holds it */
  namespace(name: string): CachedObject | undefined;
  /** a ServiceAccount, live (the cache, else the store) */
  serviceAccount: ServiceAccountLookup;
}

export function admissionChain(d: AdmissionDeps): AdmissionChain {
  const plugins: AdmissionPlugin[] = [
    new NamespaceLifecycle(d.namespace),
    new ServiceAccount(d.serviceAccount),
    new Priority(),
    new DefaultTolerationSeconds(),
  ];
  return new AdmissionChain(plugins);
}
