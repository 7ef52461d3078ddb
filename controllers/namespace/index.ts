/**
 * The namespace controller: a namespace marked for deletion (phase Terminating) has its content deleted, its status
 * conditions say what remains and why, and once it is empty the "kubernetes" finalizer is removed from its
 * spec.finalizers through the finalize subresource, after which the API server deletes it. Waiting content (pods in
 * their grace period, objects held by finalizers) is checked again after half the expected wait, and within half a
 * second when objects of a terminating namespace go away.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ALL_RESOURCES, Events, Namespaces, type Resource } from '../../lib/kube/resources.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import {
  ignore,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { updateConditions } from './conditions.ts';
import { NamespaceContentDeleter } from './content.ts';
import { rfc3339 } from '../../lib/time.ts';

/** the token of spec.finalizers this controller owns */
export const NAMESPACE_FINALIZER = 'kubernetes';

/** how long deletions of content are gathered before the namespace is looked at again */
export const CONTENT_WAKEUP_MS = 500;

/** every namespaced resource, whose objects a namespace's deletion removes */
export const NAMESPACED_RESOURCES: readonly Resource[] = ALL_RESOURCES.filter((r) => r.namespaced);

const deleting = (ns: KubeObject) => !!ns.metadata.deletionTimestamp;

export const namespaceController: ControllerDefinition<NamespaceReconciler> = {
  name: 'namespace',
  component: 'namespace-controller',
  for: { resource: Namespaces, add: deleting, update: (_, ns) => deleting(ns), delete: ignore },
  // content going away in a terminating namespace: look again without waiting for the estimate, one pass for the
  // deletions of half a second
  watches: async (ctx) =>
    (await ctx.served(NAMESPACED_RESOURCES))
      .filter((r) => r !== Events)
      .map((resource) => ({
        resource,
        map: (o: KubeObject) => [o.metadata.namespace!],
        add: ignore,
        update: ignore,
        delete: (o: KubeObject, r: NamespaceReconciler) => r.terminating(o.metadata.namespace),
        delayMs: CONTENT_WAKEUP_MS,
      })),
  reconciler: async (ctx) =>
    new NamespaceReconciler(ctx, new NamespaceContentDeleter(ctx.client, await ctx.served(NAMESPACED_RESOURCES))),
};

export class NamespaceReconciler implements Reconciler {
  private readonly client: ApiClient;
  private readonly namespaces: Informer;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly content: NamespaceContentDeleter,
  ) {
    this.client = ctx.client;
    this.namespaces = ctx.informers.informer(Namespaces);
  }

  /** whether the namespace of this name is being deleted, as the cache has it */
  terminating(name: string | undefined): boolean {
    return !!name && !!this.namespaces.get(name)?.metadata.deletionTimestamp;
  }

  async reconcile(name: string): Promise<Result | void> {
    const cached = this.namespaces.get(name);
    if (!cached?.metadata.deletionTimestamp) return;
    // several writers edit a terminating namespace: work from its current state
    let ns: KubeObject;
    try {
      ns = await this.client.get(Namespaces, undefined, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (!ns.metadata.deletionTimestamp || ns.metadata.uid !== cached.metadata.uid) return;
    if (ns.status?.phase !== 'Terminating') {
      try {
        ns = await this.client.update(
          Namespaces,
          { ...ns, status: { ...ns.status, phase: 'Terminating' } },
          { subresource: 'status' },
        );
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
    }
    if ((ns.spec?.finalizers ?? []).length === 0) return; // finalized: the API server removes it

    const pass = await this.content.deleteAll(name);
    const { conditions, changed } = updateConditions(ns.status?.conditions, pass, rfc3339(new Date(this.ctx.now())));
    if (changed) {
      try {
        ns = await this.client.update(
          Namespaces,
          { ...ns, status: { ...ns.status, conditions } },
          { subresource: 'status' },
        );
      } catch (e) {
        if (isNotFound(e)) return;
        // the conditions are written again on the next pass
        this.ctx.log(`could not update the status conditions of namespace ${name}: ${(e as Error).message}`);
      }
    }
    const errors = [...pass.discoveryErrors, ...pass.deleteErrors];
    if (errors.length > 0) throw new Error(`deleting the content of namespace ${name} failed: ${errors.join('; ')}`);
    if (pass.estimateSeconds > 0) return { requeueAfterMs: (Math.floor(pass.estimateSeconds / 2) + 1) * 1000 };
    await this.finalize(ns);
  }

  /** removes this controller's token from spec.finalizers through the finalize subresource, retrying on conflicts */
  private async finalize(ns: KubeObject): Promise<void> {
    const uid = ns.metadata.uid;
    for (let attempt = 0; attempt < 5; attempt++) {
      const rest = [
        ...new Set<string>((ns.spec?.finalizers ?? []).filter((f: string) => f !== NAMESPACE_FINALIZER)),
      ].sort();
      try {
        await this.client.update(
          Namespaces,
          { ...ns, spec: { ...ns.spec, finalizers: rest } },
          { subresource: 'finalize' },
        );
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
      }
      try {
        ns = await this.client.get(Namespaces, undefined, ns.metadata.name!);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (ns.metadata.uid !== uid)
        throw new Error(`namespace ${ns.metadata.name} was replaced (its uid changed) while being finalized`);
    }
    throw new Error(`could not finalize namespace ${ns.metadata.name}: it kept changing; it is tried again`);
  }
}
