/**
 * What puts uids on the garbage collector's queue, from the informers' events (as Kubernetes' graph builder decides
 * it): an object starting to wait for its dependents (orphan or foreground), an owner that is not in the caches, an
 * owner unblocked by a reference removed or relaxed, the dependents of a deleted object, and the owner waiting for a
 * dependent that went away. The handlers only look up the graph and enqueue; the reconcile does the work.
 */
import type { EventHandler } from '../../lib/kube/informer.ts';
import type { KubeObject, OwnerReference } from '../../lib/kube/object.ts';
import {
  FOREGROUND_FINALIZER,
  ORPHAN_FINALIZER,
  beingDeleted,
  deletingDependents,
  hasFinalizer,
  type OwnershipGraph,
} from './graph.ts';

export function graphHandlers(graph: OwnershipGraph, enqueue: (uid: string) => void): EventHandler<KubeObject> {
  const checkOwners = (obj: KubeObject, refs: OwnerReference[]) => {
    let suspicious = false;
    for (const ref of refs) {
      const owner = graph.get(ref.uid);
      if (!owner) {
        // not seen (yet, or any more): the reconcile of its uid has the dependents check it with the API server
        enqueue(ref.uid);
        continue;
      }
      if (deletingDependents(owner.obj))
        suspicious = true; // a new dependent of an owner deleting in the foreground
      else if (owner.resource.namespaced && owner.obj.metadata.namespace !== obj.metadata.namespace) suspicious = true;
      else if (owner.obj.metadata.name !== ref.name || owner.resource.kind !== ref.kind) suspicious = true;
    }
    if (suspicious && obj.metadata.uid) enqueue(obj.metadata.uid);
  };

  return {
    onAdd(obj) {
      const uid = obj.metadata.uid;
      if (!uid) return;
      if (beingDeleted(obj) && (hasFinalizer(obj, ORPHAN_FINALIZER) || hasFinalizer(obj, FOREGROUND_FINALIZER)))
        enqueue(uid);
      checkOwners(obj, obj.metadata.ownerReferences ?? []);
    },
    onUpdate(old, obj) {
      const uid = obj.metadata.uid;
      if (!uid) return;
      if (startsWaiting(old, obj, ORPHAN_FINALIZER) || startsWaiting(old, obj, FOREGROUND_FINALIZER)) enqueue(uid);
      const { added, removed, changed } = referenceDiff(
        old.metadata.ownerReferences ?? [],
        obj.metadata.ownerReferences ?? [],
      );
      // an owner waiting for this object no longer has to
      for (const r of removed) if (r.blockOwnerDeletion === true) enqueue(r.uid);
      for (const [before, after] of changed)
        if (before.blockOwnerDeletion === true && after.blockOwnerDeletion !== true) enqueue(after.uid);
      if (added.length > 0) checkOwners(obj, added);
    },
    onDelete(obj) {
      const uid = obj.metadata.uid;
      if (!uid) return;
      for (const dep of graph.dependents(uid)) enqueue(dep.obj.metadata.uid!);
      for (const ref of obj.metadata.ownerReferences ?? []) {
        const owner = graph.get(ref.uid);
        if (owner && deletingDependents(owner.obj)) enqueue(ref.uid);
      }
    },
  };
}

/** deletion started with this finalizer on, or the finalizer arrived while deleting */
function startsWaiting(old: KubeObject, obj: KubeObject, finalizer: string): boolean {
  if (!beingDeleted(obj) || !hasFinalizer(obj, finalizer)) return false;
  return !beingDeleted(old) || !hasFinalizer(old, finalizer);
}

export function referenceDiff(
  old: OwnerReference[],
  now: OwnerReference[],
): { added: OwnerReference[]; removed: OwnerReference[]; changed: [OwnerReference, OwnerReference][] } {
  const before = new Map(old.map((r) => [r.uid, r]));
  const added: OwnerReference[] = [];
  const changed: [OwnerReference, OwnerReference][] = [];
  for (const r of now) {
    const o = before.get(r.uid);
    if (!o) added.push(r);
    else {
      before.delete(r.uid);
      if (JSON.stringify(o) !== JSON.stringify(r)) changed.push([o, r]);
    }
  }
  return { added, removed: [...before.values()], changed };
}
