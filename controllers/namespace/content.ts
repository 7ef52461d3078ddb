/**
 * Deleting everything in a namespace, resource by resource, as Kubernetes' namespaced-resources deleter does: list,
 * delete each object with propagationPolicy Background (so that no "orphan" finalizer holds anything back), list
 * again, and count what remains, with the finalizers holding it and an estimate of how long to wait (the longest
 * termination grace period of the namespace's running pods, or 15 s for objects held by finalizers).
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { ApiError, isNotFound } from '../../lib/kube/api.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Pods, type Resource } from '../../lib/kube/resources.ts';
import type { ContentReport } from './conditions.ts';

/** how long to wait for objects that finalizers hold, as Kubernetes estimates it */
export const FINALIZER_ESTIMATE_SECONDS = 15;

export interface ContentPass extends ContentReport {
  /** seconds the remaining content is expected to take (0: nothing to wait for) */
  estimateSeconds: number;
}

interface ResourcePass {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
  error?: string;
}

export class NamespaceContentDeleter {
  constructor(
    private readonly client: ApiClient,
    /** the namespaced resources the API server serves */
    private readonly resources: readonly Resource[],
    /** object deletes in flight at once */
    private readonly concurrency = 8,
  ) {}

  /** one pass: every resource is tried even when another fails */
  async deleteAll(namespace: string): Promise<ContentPass> {
    const pass: ContentPass = {
      discoveryErrors: [],
      deleteErrors: [],
      remaining: new Map(),
      finalizers: new Map(),
      estimateSeconds: 0,
    };
    const results = await Promise.all(
      this.resources.map((r) => this.deleteResource(r, namespace).then((res) => [r, res] as const)),
    );
    for (const [r, res] of results) {
      if (res.error) pass.deleteErrors.push(res.error);
      pass.estimateSeconds = Math.max(pass.estimateSeconds, res.estimate);
      if (res.remaining > 0) {
        pass.remaining.set(`${r.resource}.${r.group}`, res.remaining);
        for (const [f, n] of res.finalizers) pass.finalizers.set(f, (pass.finalizers.get(f) ?? 0) + n);
      }
    }
    return pass;
  }

  private async deleteResource(r: Resource, namespace: string): Promise<ResourcePass> {
    const none: ResourcePass = { estimate: 0, remaining: 0, finalizers: new Map() };
    let items: KubeObject[];
    try {
      items = (await this.client.list(r, { namespace })).items;
    } catch (e) {
      if (unsupported(e)) return none;
      return { ...none, error: `listing ${gvr(r)}: ${(e as Error).message}` };
    }
    if (items.length === 0) return none;
    const estimate = r === Pods ? podsEstimate(items) : 0;

    const failures: string[] = [];
    await forEachLimit(items.filter(needsDelete), this.concurrency, async (o) => {
      try {
        await this.client.delete(r, namespace, o.metadata.name!, { propagationPolicy: 'Background' });
      } catch (e) {
        if (!unsupported(e)) failures.push(`${o.metadata.name}: ${(e as Error).message}`);
      }
    });
    if (failures.length > 0) return { ...none, estimate, error: `deleting ${gvr(r)}: ${failures.join('; ')}` };

    let left: KubeObject[];
    try {
      left = (await this.client.list(r, { namespace })).items;
    } catch (e) {
      if (unsupported(e)) return { ...none, estimate };
      return { ...none, estimate, error: `listing ${gvr(r)}: ${(e as Error).message}` };
    }
    if (left.length === 0) return none;
    const finalizers = new Map<string, number>();
    for (const o of left) for (const f of o.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    if (estimate > 0) return { estimate, remaining: left.length, finalizers };
    if (finalizers.size > 0) return { estimate: FINALIZER_ESTIMATE_SECONDS, remaining: left.length, finalizers };
    return {
      estimate,
      remaining: left.length,
      finalizers,
      error: `unexpected items still remain in namespace: ${namespace} for gvr: ${gvr(r)}`,
    };
  }
}

/**
 * An object that a delete request still changes: not yet deleting, or held by a garbage-collector finalizer that a
 * Background delete clears. A pod already terminating is left to its grace period.
 */
function needsDelete(o: KubeObject): boolean {
  if (!o.metadata.deletionTimestamp) return true;
  const f = o.metadata.finalizers ?? [];
  return f.includes('orphan') || f.includes('foregroundDeletion');
}

/** the longest termination grace period among the pods that are not finished */
export function podsEstimate(pods: KubeObject[]): number {
  let estimate = 0;
  for (const p of pods) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const grace = p.spec?.terminationGracePeriodSeconds;
    if (typeof grace === 'number' && grace > estimate) estimate = grace;
  }
  return estimate;
}

/** "/v1, Resource=pods", "apps/v1, Resource=deployments": a group-version-resource as Kubernetes prints it */
export function gvr(r: Resource): string {
  return `${r.group}/${r.version}, Resource=${r.resource}`;
}

/** the resource is not served, or the verb is not supported on it */
function unsupported(e: unknown): boolean {
  return isNotFound(e) || (e instanceof ApiError && e.code === 405);
}

async function forEachLimit<T>(items: T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
