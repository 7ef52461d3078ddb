/**
 * The service account controller: every active namespace has a ServiceAccount "default", created when it is missing
 * and created again when it is deleted, as Kubernetes' serviceaccounts-controller keeps it. Namespaces being deleted
 * are left alone (their content is going away).
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isAlreadyExists, isNamespaceTerminating, isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { isTerminating } from '../../lib/kube/namespaces.ts';
import { Namespaces, ServiceAccounts } from '../../lib/kube/resources.ts';
import { ignore, type ControllerContext, type ControllerDefinition, type Reconciler } from '../controller.ts';

/** the ServiceAccounts every namespace gets */
export const MANAGED_SERVICE_ACCOUNTS = ['default'];

export const serviceAccountController: ControllerDefinition<ServiceAccountReconciler> = {
  name: 'serviceaccount',
  component: 'service-account-controller',
  // the key is the namespace; a namespace that goes takes its accounts with it
  for: { resource: Namespaces, delete: ignore },
  watches: [
    {
      resource: ServiceAccounts,
      map: (sa) => (MANAGED_SERVICE_ACCOUNTS.includes(sa.metadata.name!) ? [sa.metadata.namespace!] : []),
      add: ignore,
      update: ignore,
    },
  ],
  reconciler: (ctx) => new ServiceAccountReconciler(ctx),
};

export class ServiceAccountReconciler implements Reconciler {
  private readonly client: ApiClient;
  private readonly namespaces: Informer;
  private readonly accounts: Informer;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.namespaces = ctx.informers.informer(Namespaces);
    this.accounts = ctx.informers.informer(ServiceAccounts);
  }

  async reconcile(namespace: string): Promise<void> {
    const ns = this.namespaces.getByName(undefined, namespace);
    if (!ns || isTerminating(ns)) return;
    for (const name of MANAGED_SERVICE_ACCOUNTS) {
      if (this.accounts.getByName(namespace, name)) continue;
      try {
        await this.client.create(ServiceAccounts, {
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: { name, namespace },
        });
      } catch (e) {
        // already there (the cache is behind), or the namespace went away or started terminating meanwhile
        if (isAlreadyExists(e) || isNotFound(e) || isNamespaceTerminating(e)) continue;
        throw e;
      }
    }
  }
}
