/**
 * The ownership graph of the garbage collector, read from the shared informers' caches: every object by uid, and
 * every object's dependents by the owner uid their ownerReferences name. Both are informer indexes (GRAPH_INDEXES,
 * declared with the collector's watches), so each lookup is one map read per resource, never a scan of the objects.
 */
import type { Informer, InformerFactory } from '../../lib/kube/informer.ts';
import type { KubeObject, OwnerReference } from '../../lib/kube/object.ts';
import type { Resource } from '../../lib/kube/resources.ts';

export const UID_INDEX = 'gc-uid';
export const OWNER_UID_INDEX = 'gc-owner-uid';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

/** the informer indexes the graph reads */
export const GRAPH_INDEXES: Readonly<Record<string, (o: KubeObject) => string[]>> = {
  [UID_INDEX]: (o) => (o.metadata.uid ? [o.metadata.uid] : []),
  [OWNER_UID_INDEX]: (o) => ownerUids(o),
};

/** an object of the graph with the resource it belongs to */
export interface GraphNode {
  resource: Resource;
  obj: KubeObject;
}

export class OwnershipGraph {
  readonly informers: Informer[];
  private readonly byKind = new Map<string, Resource>();

  constructor(factory: InformerFactory, resources: readonly Resource[]) {
    this.informers = resources.map((r) => {
      this.byKind.set(kindKey(r.group ? `${r.group}/${r.version}` : r.version, r.kind), r);
      return factory.informer(r);
    });
  }

  /** the cached object with this uid, if any informer holds it */
  get(uid: string): GraphNode | undefined {
    for (const inf of this.informers) {
      const found = inf.byIndex(UID_INDEX, uid);
      if (found.length > 0) return { resource: inf.resource, obj: found[0] };
    }
    return undefined;
  }

  has(uid: string): boolean {
    return this.get(uid) !== undefined;
  }

  /** the cached objects whose ownerReferences name this uid */
  dependents(uid: string): GraphNode[] {
    const out: GraphNode[] = [];
    for (const inf of this.informers) {
      for (const obj of inf.byIndex(OWNER_UID_INDEX, uid)) out.push({ resource: inf.resource, obj });
    }
    return out;
  }

  /** the watched resource an ownerReference's apiVersion and kind name, if the graph watches it */
  resourceOf(ref: Pick<OwnerReference, 'apiVersion' | 'kind'>): Resource | undefined {
    return this.byKind.get(kindKey(ref.apiVersion, ref.kind));
  }

  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }
}

function kindKey(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

export function ownerUids(obj: KubeObject): string[] {
  const refs = obj.metadata.ownerReferences;
  if (!refs || refs.length === 0) return [];
  return refs.map((r) => r.uid).filter((u): u is string => typeof u === 'string' && u !== '');
}

export function beingDeleted(obj: KubeObject): boolean {
  return !!obj.metadata.deletionTimestamp;
}

export function hasFinalizer(obj: KubeObject, f: string): boolean {
  return obj.metadata.finalizers?.includes(f) ?? false;
}

/** marked for deletion and waiting for its dependents to go first */
export function deletingDependents(obj: KubeObject): boolean {
  return beingDeleted(obj) && hasFinalizer(obj, FOREGROUND_FINALIZER);
}

/** marked for deletion and waiting for its dependents to be orphaned */
export function orphaningDependents(obj: KubeObject): boolean {
  return beingDeleted(obj) && hasFinalizer(obj, ORPHAN_FINALIZER);
}

/** the ownerReference of `obj` that names `ownerUid` */
export function referenceTo(obj: KubeObject, ownerUid: string): OwnerReference | undefined {
  return obj.metadata.ownerReferences?.find((r) => r.uid === ownerUid);
}

/** "[apps/v1/ReplicaSet, namespace: ns, name: web-1, uid: ...]": an owner's identity as messages name it */
export function describeOwner(ref: OwnerReference, namespace: string): string {
  return `[${ref.apiVersion}/${ref.kind}, namespace: ${namespace}, name: ${ref.name}, uid: ${ref.uid}]`;
}
