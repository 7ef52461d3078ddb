/**
 * The garbage collector's reconcile of one uid, in the shape of Kubernetes' attemptToDeleteItem and
 * attemptToOrphanWorker:
 * - a uid no cache holds (an owner that is gone or was never seen): each of its dependents is looked at;
 * - an object marked for deletion with the "orphan" finalizer: its dependents lose their ownerReference to it, then
 *   the finalizer goes;
 * - an object marked for deletion with the "foregroundDeletion" finalizer: its dependents are deleted, and the
 *   finalizer goes once no dependent with blockOwnerDeletion remains;
 * - any other object with owners: when none of its owners exists any more (checked with a live GET of the owner by
 *   name, compared by uid), it is deleted; owners that are gone are dropped from its references while others remain.
 * Deletions carry the object's uid and resourceVersion as preconditions, so an object adopted meanwhile is spared.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { ApiError, isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { KubeObject, OwnerReference } from '../../lib/kube/object.ts';
import type { Reconciler } from '../controller.ts';
import { AbsentOwnerCache } from './absent-owners.ts';
import {
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  beingDeleted,
  deletingDependents,
  describeOwner,
  hasFinalizer,
  referenceTo,
  type GraphNode,
  type OwnershipGraph,
} from './graph.ts';

export interface CollectorOptions {
  client: ApiClient;
  graph: OwnershipGraph;
  recorder: EventRecorder;
  /** puts a uid on the collector's queue */
  enqueue(uid: string): void;
  log(msg: string): void;
  absentOwners?: AbsentOwnerCache;
  /** dependents patched at once when orphaning */
  concurrency?: number;
}

type Policy = 'Background' | 'Foreground' | 'Orphan';

interface Classified {
  solid: OwnerReference[];
  dangling: OwnerReference[];
  waiting: OwnerReference[];
}

export class GarbageCollector implements Reconciler {
  private readonly client: ApiClient;
  readonly graph: OwnershipGraph;
  private readonly absent: AbsentOwnerCache;
  private readonly concurrency: number;

  constructor(private readonly o: CollectorOptions) {
    this.client = o.client;
    this.graph = o.graph;
    this.absent = o.absentOwners ?? new AbsentOwnerCache();
    this.concurrency = o.concurrency ?? 8;
  }

  async reconcile(uid: string): Promise<void> {
    const node = this.graph.get(uid);
    if (!node) {
      // an owner no cache holds: each dependent checks its owners against the API server
      for (const dep of this.graph.dependents(uid)) this.o.enqueue(dep.obj.metadata.uid!);
      return;
    }
    const { obj } = node;
    if (beingDeleted(obj)) {
      if (hasFinalizer(obj, ORPHAN_FINALIZER)) return this.orphanDependents(node);
      if (hasFinalizer(obj, FOREGROUND_FINALIZER)) return this.deleteDependents(node);
      return; // on its way out: its dependents are looked at when it is gone
    }
    return this.attemptToDelete(node);
  }

  // ---- orphan ----

  private async orphanDependents(owner: GraphNode): Promise<void> {
    const ownerUid = owner.obj.metadata.uid!;
    const failures: string[] = [];
    await forEachLimit(this.graph.dependents(ownerUid), this.concurrency, async (dep) => {
      try {
        await this.removeOwnerReferences(dep, [ownerUid]);
      } catch (e) {
        if (!isNotFound(e)) failures.push(`${describe(dep)}: ${(e as Error).message}`);
      }
    });
    if (failures.length > 0) {
      throw new Error(
        `could not orphan the dependents of ${describe(owner)} (it keeps its "orphan" finalizer until they are): ${failures.join('; ')}`,
      );
    }
    await this.removeFinalizer(owner, ORPHAN_FINALIZER);
  }

  // ---- foreground ----

  private async deleteDependents(owner: GraphNode): Promise<void> {
    const ownerUid = owner.obj.metadata.uid!;
    const deps = this.graph.dependents(ownerUid);
    let blocking = 0;
    for (const dep of deps) {
      if (referenceTo(dep.obj, ownerUid)?.blockOwnerDeletion === true) blocking++;
      // a dependent not yet on its way out is looked at: its owner waits for it, so it is deleted
      if (!beingDeleted(dep.obj)) this.o.enqueue(dep.obj.metadata.uid!);
    }
    if (blocking === 0) await this.removeFinalizer(owner, FOREGROUND_FINALIZER);
  }

  // ---- a dependent whose owners may be gone ----

  private async attemptToDelete(node: GraphNode): Promise<void> {
    const { resource, obj } = node;
    if (!obj.metadata.ownerReferences?.length) return;
    if (this.ownersSolidInCache(obj)) return;
    let latest: KubeObject;
    try {
      latest = await this.client.get(resource, obj.metadata.namespace, obj.metadata.name!);
    } catch (e) {
      if (isNotFound(e)) return; // gone: its deletion comes through the watch
      throw e;
    }
    if (latest.metadata.uid !== obj.metadata.uid || beingDeleted(latest)) return;
    const refs = latest.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const c = await this.classify(node, latest, refs);
    if (!c) return;
    if (c.solid.length > 0) {
      if (c.dangling.length === 0 && c.waiting.length === 0) return;
      // owners that are gone, or that wait for their dependents, are dropped; the solid ones keep the object
      await this.removeOwnerReferences(
        { resource, obj: latest },
        [...c.dangling, ...c.waiting].map((r) => r.uid),
      );
      return;
    }
    if (c.waiting.length > 0 && this.graph.dependents(latest.metadata.uid!).length > 0) {
      // an owner waits for this object, which has dependents itself: delete it in the foreground too
      if (this.graph.dependents(latest.metadata.uid!).some((d) => deletingDependents(d.obj))) {
        // one of those dependents waits for its own dependents: unblock this object's owners to avoid a cycle
        await this.unblockOwnerReferences({ resource, obj: latest });
      }
      await this.deleteObject({ resource, obj: latest }, 'Foreground');
      return;
    }
    const policy: Policy = hasFinalizer(latest, ORPHAN_FINALIZER)
      ? 'Orphan'
      : hasFinalizer(latest, FOREGROUND_FINALIZER)
        ? 'Foreground'
        : 'Background';
    await this.deleteObject({ resource, obj: latest }, policy);
  }

  /** every owner is in the caches, in a valid place, and not waiting for its dependents: nothing to ask the API */
  private ownersSolidInCache(obj: KubeObject): boolean {
    for (const ref of obj.metadata.ownerReferences ?? []) {
      const r = this.graph.resourceOf(ref);
      if (!r) return true; // an owner kind the collector does not know: never collected (see classify)
      const owner = this.graph.get(ref.uid);
      if (!owner || deletingDependents(owner.obj)) return false;
      // the API server is asked by name: a reference whose name or kind does not match what the uid is needs it
      if (owner.resource !== r || owner.obj.metadata.name !== ref.name) return false;
      if (r.namespaced && owner.obj.metadata.namespace !== obj.metadata.namespace) return false;
    }
    return true;
  }

  /**
   * Sorts the references: solid (the owner exists), dangling (absent, or another object of that name), waiting (the
   * owner waits for its dependents). Undefined when the object must be left alone: an owner kind the collector does
   * not know, or a cluster-scoped object naming a namespaced owner.
   */
  private async classify(node: GraphNode, latest: KubeObject, refs: OwnerReference[]): Promise<Classified | undefined> {
    const out: Classified = { solid: [], dangling: [], waiting: [] };
    const namespace = latest.metadata.namespace ?? '';
    for (const ref of refs) {
      const r = this.graph.resourceOf(ref);
      if (!r) {
        this.o.log(
          `${describe(node)} has an owner of kind ${ref.apiVersion}/${ref.kind}, which is not served or not known: it is not garbage collected`,
        );
        return undefined;
      }
      if (r.namespaced && !namespace) {
        this.reportInvalidNamespace(latest, ref, '');
        return undefined;
      }
      const ownerNs = r.namespaced ? namespace : '';
      if (this.absent.has(ref.uid, ownerNs)) {
        out.dangling.push(ref);
        continue;
      }
      let owner: KubeObject | undefined;
      try {
        owner = await this.client.get(r, ownerNs || undefined, ref.name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      if (!owner || owner.metadata.uid !== ref.uid) {
        this.absent.add(ref.uid, ownerNs);
        if (r.namespaced) this.reportIfElsewhere(latest, ref);
        out.dangling.push(ref);
      } else if (deletingDependents(owner)) {
        out.waiting.push(ref);
      } else {
        out.solid.push(ref);
      }
    }
    return out;
  }

  /** a namespaced owner that exists, but in another namespace than its dependent: the reference is invalid */
  private reportIfElsewhere(dep: KubeObject, ref: OwnerReference): void {
    const seen = this.graph.get(ref.uid);
    if (seen && seen.obj.metadata.namespace !== dep.metadata.namespace)
      this.reportInvalidNamespace(dep, ref, dep.metadata.namespace ?? '');
  }

  private reportInvalidNamespace(dep: KubeObject, ref: OwnerReference, namespace: string): void {
    this.o.recorder.event(
      dep,
      'Warning',
      'OwnerRefInvalidNamespace',
      `ownerRef ${describeOwner(ref, namespace)} does not exist in namespace "${namespace}"`,
    );
  }

  // ---- writes ----

  /** deletes with the uid and resourceVersion seen as preconditions; a conflict with unchanged owners retries on uid only */
  private async deleteObject(node: GraphNode, policy: Policy): Promise<void> {
    const { resource, obj } = node;
    const { namespace, name, uid, resourceVersion } = obj.metadata;
    try {
      await this.client.delete(resource, namespace, name!, {
        propagationPolicy: policy,
        preconditions: { uid, resourceVersion },
      });
      return;
    } catch (e) {
      if (isNotFound(e)) return;
      if (!isConflict(e)) throw e;
    }
    let live: KubeObject;
    try {
      live = await this.client.get(resource, namespace, name!);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (live.metadata.uid !== uid) return;
    if (live.metadata.resourceVersion === resourceVersion) {
      throw new Error(`deleting ${describe(node)} conflicted although it did not change; it is tried again`);
    }
    if (!sameReferences(live.metadata.ownerReferences, obj.metadata.ownerReferences)) {
      throw new Error(`${describe(node)} changed its ownerReferences while being collected; it is looked at again`);
    }
    try {
      await this.client.delete(resource, namespace, name!, { propagationPolicy: policy, preconditions: { uid } });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** drops the ownerReferences naming these uids (a strategic merge patch; a JSON merge patch where it is refused) */
  private async removeOwnerReferences(node: GraphNode, ownerUids: string[]): Promise<void> {
    const { resource, obj } = node;
    const patch = {
      metadata: { ownerReferences: ownerUids.map((uid) => ({ $patch: 'delete', uid })), uid: obj.metadata.uid },
    };
    try {
      await this.client.patch(resource, obj.metadata.namespace, obj.metadata.name!, patch, 'strategic');
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 415)) throw e;
      await this.mergePatchReferences(node, (refs) => refs.filter((r) => !ownerUids.includes(r.uid)));
    }
  }

  /** sets blockOwnerDeletion to false on the references that had it */
  private async unblockOwnerReferences(node: GraphNode): Promise<void> {
    const { resource, obj } = node;
    const blocking = (obj.metadata.ownerReferences ?? [])
      .filter((r) => r.blockOwnerDeletion === true)
      .map((r) => ({ ...r, blockOwnerDeletion: false }));
    if (blocking.length === 0) return;
    try {
      await this.client.patch(
        resource,
        obj.metadata.namespace,
        obj.metadata.name!,
        { metadata: { ownerReferences: blocking, uid: obj.metadata.uid } },
        'strategic',
      );
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 415)) throw e;
      await this.mergePatchReferences(node, (refs) =>
        refs.map((r) => (r.blockOwnerDeletion ? { ...r, blockOwnerDeletion: false } : r)),
      );
    }
  }

  private async mergePatchReferences(
    node: GraphNode,
    change: (refs: OwnerReference[]) => OwnerReference[],
  ): Promise<void> {
    const { resource, obj } = node;
    const live = await this.client.get(resource, obj.metadata.namespace, obj.metadata.name!);
    if (live.metadata.uid !== obj.metadata.uid) return;
    const refs = change(live.metadata.ownerReferences ?? []);
    await this.client.patch(
      resource,
      obj.metadata.namespace,
      obj.metadata.name!,
      { metadata: { ownerReferences: refs.length ? refs : null, resourceVersion: live.metadata.resourceVersion } },
      'merge',
    );
  }

  /** removes one finalizer from the live object, guarded by its resourceVersion, retrying on conflicts */
  private async removeFinalizer(node: GraphNode, finalizer: string): Promise<void> {
    const { resource, obj } = node;
    const { namespace, name, uid } = obj.metadata;
    for (let attempt = 0; attempt < 5; attempt++) {
      let live: KubeObject;
      try {
        live = await this.client.get(resource, namespace, name!);
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      if (live.metadata.uid !== uid) return;
      const finalizers = live.metadata.finalizers ?? [];
      if (!finalizers.includes(finalizer)) return;
      try {
        await this.client.patch(
          resource,
          namespace,
          name!,
          {
            metadata: {
              finalizers: finalizers.filter((f) => f !== finalizer),
              resourceVersion: live.metadata.resourceVersion,
            },
          },
          'merge',
        );
        return;
      } catch (e) {
        if (isNotFound(e)) return;
        if (!isConflict(e)) throw e;
      }
    }
    throw new Error(
      `could not remove the "${finalizer}" finalizer of ${describe(node)}: it kept changing; it is tried again`,
    );
  }
}

function describe(node: GraphNode): string {
  const { namespace, name, uid } = node.obj.metadata;
  return `${node.resource.resource}${node.resource.group ? '.' + node.resource.group : ''} ${namespace ? namespace + '/' : ''}${name} (uid ${uid})`;
}

function sameReferences(a: OwnerReference[] | undefined, b: OwnerReference[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

async function forEachLimit<T>(items: T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
