/**
 * NamespaceLifecycle: nothing is created in a namespace that does not exist (404, the namespace not found) or is
 * being deleted (403 NamespaceTerminating), as Kubernetes' plugin refuses it. It runs first, in the mutating phase,
 * before anything spends work on the object. What a namespace is is read from the watch cache.
 */
import type { CachedObject } from '../watchcache/cache.ts';
import { forbidden, notFound } from '../rest/status.ts';
import type { Attributes, MutatingPlugin, Operation } from './admission.ts';

export class NamespaceLifecycle implements MutatingPlugin {
  readonly name = 'NamespaceLifecycle';
  /** whether a namespace (a cached version of it: never changed) is terminating */
  private readonly terminating = new WeakMap<CachedObject, boolean>();

  /** namespace: the cached Namespace of a name */
  constructor(private readonly namespace: (name: string) => CachedObject | undefined) {}

  handles(op: Operation): boolean {
    return op === 'CREATE';
  }

  admit(a: Attributes): void {
    if (!a.resource.namespaced || a.subresource !== '') return;
    const ns = a.namespace;
    const nsObj = this.namespace(ns);
    if (!nsObj) throw notFound('', 'namespaces', ns);
    let terminating = this.terminating.get(nsObj);
    if (terminating === undefined) {
      const nsNow = nsObj.obj; // parsed from the cache's JSON: once per version of the namespace
      terminating = !!nsNow.metadata?.deletionTimestamp || nsNow.status?.phase === 'Terminating';
      this.terminating.set(nsObj, terminating);
    }
    if (!terminating) return;
    throw forbidden(
      a.resource.group,
      a.resource.resource,
      a.name,
      `unable to create new content in namespace ${ns} because it is being terminated`,
      [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }],
    );
  }
}
