/**
 * The DaemonSet controller: one pod per eligible node (eligibility.ts), each created pinned to its node through a
 * required node affinity on metadata.name (the scheduler binds it), with the daemon pod tolerations. Template
 * changes roll out node by node: RollingUpdate deletes at most maxUnavailable available old pods at a time (old pods
 * that are not available go at once) and the next pass creates their replacements; OnDelete waits for the user to
 * delete them. Pods carry controller-revision-hash; ControllerRevisions keep the template history
 * (lib/kube/history.ts).
 */
import { isAlreadyExists, isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { ApiClient } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { controllerOf, keyOf, sameStatus, type KubeObject } from '../../lib/kube/object.ts';
import { isPodAvailable, isPodReady, msUntilAvailable } from '../../lib/kube/pods.ts';
import { ControllerRevisions, DaemonSets, Nodes, Pods } from '../../lib/kube/resources.ts';
import { labelSelectorFromObject } from '../../lib/selectors.ts';
import {
  controlledBy,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { Expectations } from '../expectations.ts';
import { nodeShouldRunDaemonPod, pinToNode, targetNodeName, withDaemonTolerations } from './eligibility.ts';
import {
  addRevisionOwnerIndex,
  maxRevision,
  newRevision,
  ownedRevisions,
  revisionOfTemplate,
  REVISION_HASH_LABEL,
  revisionsToPrune,
  templateHash,
} from '../../lib/kube/history.ts';
import { scaledValue, slowStartBatch } from './rollout-math.ts';

export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
export const daemonSetController: ControllerDefinition<DaemonSetReconciler> = {
  name: 'daemonset',
  component: 'daemonset-controller',
  for: DaemonSets,
  owns: [{ resource: Pods, expectations: (r) => r.expectations }],
  // a node that comes, goes, or changes what placement reads may change where every daemon set runs
  watches: [{ resource: Nodes, map: (_, r) => r.daemonSets.keys(), update: nodePlacementChanged }],
  reconciler: (ctx) => new DaemonSetReconciler(ctx),
};

/** what of a node decides where daemon pods go changed */
function nodePlacementChanged(a: KubeObject, b: KubeObject): boolean {
  return (
    JSON.stringify(a.metadata.labels ?? {}) !== JSON.stringify(b.metadata.labels ?? {}) ||
    JSON.stringify(a.spec?.taints ?? []) !== JSON.stringify(b.spec?.taints ?? []) ||
    !!a.spec?.unschedulable !== !!b.spec?.unschedulable
  );
}

interface NodePlan {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
  pods: KubeObject[];
}

export class DaemonSetReconciler implements Reconciler {
  readonly expectations = new Expectations();
  private readonly client: ApiClient;
  private readonly recorder: EventRecorder;
  readonly daemonSets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly revisions: Informer;
  private readonly now: () => number;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.recorder = ctx.recorder;
    this.daemonSets = ctx.informers.informer(DaemonSets);
    this.pods = ctx.informers.informer(Pods);
    this.nodes = ctx.informers.informer(Nodes);
    this.revisions = ctx.informers.informer(ControllerRevisions);
    this.now = ctx.now;
    addRevisionOwnerIndex(this.revisions);
  }

  async reconcile(key: string): Promise<Result | void> {
    const ds = this.daemonSets.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    if (ds.metadata.deletionTimestamp) return;
    const selector = labelSelectorFromObject(ds.spec?.selector);
    if (selector.empty) {
      this.recorder.event(
        ds,
        'Warning',
        'SelectingAll',
        'This daemon set is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    const { hash, revisions, current } = await this.history(ds);
    const owned = controlledBy(this.pods, ds.metadata.uid!).filter((p) => selector.matches(p.metadata.labels));
    const plans = this.plan(ds, owned);

    if (this.expectations.satisfied(key)) {
      const changed = await this.manage(ds, key, plans, hash);
      if (
        !changed &&
        this.expectations.satisfied(key) &&
        (ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate'
      ) {
        await this.rollingUpdate(ds, key, plans, hash);
      }
      await this.pruneHistory(ds, revisions, owned, current);
    }
    await this.writeStatus(ds, plans, hash);
    return this.availabilityRecheck(ds, plans);
  }

  /** every node with its placement and the daemon pods meant for it (nodes that are gone included, not to run) */
  private plan(ds: KubeObject, owned: KubeObject[]): Map<string, NodePlan> {
    const plans = new Map<string, NodePlan>();
    for (const node of this.nodes.list()) {
      plans.set(node.metadata.name!, { ...nodeShouldRunDaemonPod(ds, node), pods: [] });
    }
    for (const p of owned) {
      const nodeName = targetNodeName(p) ?? '';
      let plan = plans.get(nodeName);
      if (!plan) plans.set(nodeName, (plan = { shouldRun: false, shouldContinueRunning: false, pods: [] }));
      plan.pods.push(p);
    }
    for (const plan of plans.values()) plan.pods.sort(byCreation);
    return plans;
  }

  /** creates missing daemon pods and deletes the ones that should not be; true when it wrote anything */
  private async manage(ds: KubeObject, key: string, plans: Map<string, NodePlan>, hash: string): Promise<boolean> {
    const toCreate: string[] = [];
    const toDelete: KubeObject[] = [];
    for (const [nodeName, plan] of plans) {
      if (plan.shouldContinueRunning) {
        const running: KubeObject[] = [];
        for (const p of plan.pods) {
          if (p.metadata.deletionTimestamp) continue;
          if (p.status?.phase === 'Failed') {
            this.recorder.event(
              ds,
              'Warning',
              'FailedDaemonPod',
              `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${nodeName}, will try to kill it`,
            );
            toDelete.push(p);
            continue;
          }
          running.push(p);
        }
        if (plan.shouldRun && plan.pods.length === 0) toCreate.push(nodeName);
        // more than one: keep the oldest
        toDelete.push(...running.slice(1));
      } else {
        toDelete.push(...plan.pods.filter((p) => !p.metadata.deletionTimestamp));
      }
    }
    await this.sync(ds, key, toCreate, toDelete, hash);
    return toCreate.length + toDelete.length > 0;
  }

  /** RollingUpdate with maxUnavailable (no surge): old pods go, at most maxUnavailable of the available ones */
  private async rollingUpdate(ds: KubeObject, key: string, plans: Map<string, NodePlan>, hash: string): Promise<void> {
    const desired = [...plans.values()].filter((p) => p.shouldRun).length;
    const maxUnavailable = Math.max(
      scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, desired, true),
      0,
    );
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const now = this.now();
    let unavailable = 0;
    const replaceNow: KubeObject[] = [];
    const candidates: KubeObject[] = [];
    for (const plan of plans.values()) {
      if (!plan.shouldRun) continue;
      const live = plan.pods.filter((p) => !p.metadata.deletionTimestamp);
      const fresh = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === hash);
      const old = live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] !== hash);
      if (fresh.length > 1 || old.length > 1 || (fresh.length === 0) === (old.length === 0)) {
        // nothing there, or several: the next pass of manage settles it; counts as unavailable
        unavailable++;
        continue;
      }
      if (fresh.length === 1) {
        if (!isPodAvailable(fresh[0], minReady, now)) unavailable++;
        continue;
      }
      if (!isPodAvailable(old[0], minReady, now)) {
        replaceNow.push(old[0]);
        unavailable++;
      } else if (unavailable < maxUnavailable) candidates.push(old[0]);
    }
    const room = Math.min(Math.max(maxUnavailable - unavailable, 0), candidates.length);
    const victims = [...replaceNow, ...candidates.slice(0, room)];
    if (victims.length) await this.sync(ds, key, [], victims, hash);
  }

  private async sync(
    ds: KubeObject,
    key: string,
    nodeNames: string[],
    victims: KubeObject[],
    hash: string,
  ): Promise<void> {
    if (nodeNames.length === 0 && victims.length === 0) return;
    const errors: Error[] = [];
    if (nodeNames.length) {
      this.expectations.expectCreations(key, nodeNames.length);
      const created = await slowStartBatch(nodeNames, async (nodeName) => {
        try {
          const pod = await this.client.create(Pods, this.newPod(ds, nodeName, hash));
          this.recorder.event(ds, 'Normal', 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`);
        } catch (e) {
          this.expectations.creationObserved(key);
          this.recorder.event(ds, 'Warning', 'FailedCreate', `Error creating: ${(e as Error).message}`);
          throw e;
        }
      });
      // creations never tried will never be seen
      for (let i = created.attempted; i < nodeNames.length; i++) this.expectations.creationObserved(key);
      if (created.error) errors.push(created.error);
    }
    if (victims.length) {
      this.expectations.expectDeletions(
        key,
        victims.map((p) => p.metadata.uid!),
      );
      await Promise.all(
        victims.map(async (p) => {
          try {
            await this.client.delete(Pods, p.metadata.namespace, p.metadata.name!);
            this.recorder.event(ds, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
          } catch (e) {
            this.expectations.deletionObserved(key, p.metadata.uid);
            if (isNotFound(e)) return;
            this.recorder.event(ds, 'Warning', 'FailedDelete', `Error deleting: ${(e as Error).message}`);
            errors.push(e as Error);
          }
        }),
      );
    }
    if (errors.length)
      throw new Error(`daemonset ${key}: ${errors.length} pod write(s) failed, first: ${errors[0].message}`);
  }

  /** a daemon pod for a node: the template, pinned to the node, with the revision hash and daemon tolerations */
  newPod(ds: KubeObject, nodeName: string, hash: string): KubeObject {
    const template = ds.spec?.template ?? {};
    const spec = structuredClone(template.spec ?? {});
    spec.affinity = pinToNode(spec, nodeName);
    spec.tolerations = withDaemonTolerations(spec.tolerations, !!spec.hostNetwork);
    const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash };
    if (ds.metadata.generation !== undefined) labels[TEMPLATE_GENERATION_LABEL] = String(ds.metadata.generation);
    const metadata: KubeObject['metadata'] = {
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          name: ds.metadata.name!,
          uid: ds.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    if (template.metadata?.annotations) metadata.annotations = { ...template.metadata.annotations };
    return { apiVersion: 'v1', kind: 'Pod', metadata, spec };
  }

  /** the revision of the current template (created, or renumbered when the template went back to an old one) */
  private async history(ds: KubeObject): Promise<{ hash: string; revisions: KubeObject[]; current: KubeObject }> {
    const revisions = ownedRevisions(this.revisions, ds.metadata.uid!);
    const template = ds.spec?.template ?? {};
    const max = maxRevision(revisions);
    const existing = revisionOfTemplate(revisions, template);
    if (existing) {
      let current = existing;
      if (Number(existing.revision ?? 0) < max) {
        current = await this.client.update(ControllerRevisions, { ...existing, revision: max + 1 });
      }
      return {
        hash: existing.metadata.labels?.[REVISION_HASH_LABEL] ?? templateHash(template, ds.status?.collisionCount),
        revisions,
        current,
      };
    }
    const hash = templateHash(template, ds.status?.collisionCount);
    const labels = { ...(template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash };
    const cr = newRevision(ds, `${ds.metadata.name}-${hash}`, labels, template, max + 1);
    try {
      const current = await this.client.create(ControllerRevisions, cr);
      return { hash, revisions: [...revisions, current], current };
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const other = await this.client.get<KubeObject>(ControllerRevisions, ds.metadata.namespace, cr.metadata.name!);
      if (controllerOf(other)?.uid === ds.metadata.uid && revisionOfTemplate([other], template)) {
        return { hash, revisions: [...revisions, other], current: other };
      }
      // a revision of that name holds something else: count the collision so that the next hash differs
      await this.client.update(
        DaemonSets,
        { ...ds, status: { ...ds.status, collisionCount: (ds.status?.collisionCount ?? 0) + 1 } },
        { subresource: 'status' },
      );
      throw new Error(
        `daemonset ${keyOf(ds)}: the ControllerRevision ${cr.metadata.name} exists with another template; collisionCount raised, trying again`,
        { cause: e },
      );
    }
  }

  /** old revisions beyond spec.revisionHistoryLimit (default 10) that no pod uses */
  private async pruneHistory(
    ds: KubeObject,
    revisions: KubeObject[],
    owned: KubeObject[],
    current: KubeObject,
  ): Promise<void> {
    const limit = ds.spec?.revisionHistoryLimit ?? 10;
    const liveHashes = new Set(owned.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL]).filter(Boolean) as string[]);
    const live = new Set<string>([current.metadata.name!]);
    for (const r of revisions) {
      const h = r.metadata.labels?.[REVISION_HASH_LABEL];
      if (h && liveHashes.has(h)) live.add(r.metadata.name!);
    }
    for (const r of revisionsToPrune(revisions, live, limit)) {
      try {
        await this.client.delete(ControllerRevisions, r.metadata.namespace, r.metadata.name!);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  private async writeStatus(ds: KubeObject, plans: Map<string, NodePlan>, hash: string): Promise<void> {
    const now = this.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    let desired = 0;
    let current = 0;
    let misscheduled = 0;
    let ready = 0;
    let available = 0;
    let updated = 0;
    for (const plan of plans.values()) {
      const scheduled = plan.pods.length > 0;
      if (plan.shouldRun) {
        desired++;
        if (!scheduled) continue;
        current++;
        const pod = plan.pods[0];
        if (isPodReady(pod)) {
          ready++;
          if (isPodAvailable(pod, minReady, now)) available++;
        }
        if (pod.metadata.labels?.[REVISION_HASH_LABEL] === hash) updated++;
      } else if (scheduled) misscheduled++;
    }
    const status: Record<string, unknown> = {
      currentNumberScheduled: current,
      numberMisscheduled: misscheduled,
      desiredNumberScheduled: desired,
      numberReady: ready,
    };
    if (ds.metadata.generation !== undefined) status.observedGeneration = ds.metadata.generation;
    if (updated) status.updatedNumberScheduled = updated;
    if (available) status.numberAvailable = available;
    if (desired - available > 0) status.numberUnavailable = desired - available;
    if (ds.status?.collisionCount) status.collisionCount = ds.status.collisionCount;
    if (ds.status?.conditions) status.conditions = ds.status.conditions;
    if (sameStatus(ds.status, status)) return;
    try {
      await this.client.update(DaemonSets, { ...ds, status }, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return;
      if (!isConflict(e)) throw e;
      const fresh = await this.client.get<KubeObject>(DaemonSets, ds.metadata.namespace, ds.metadata.name!);
      if (fresh.metadata.uid !== ds.metadata.uid) return;
      await this.client.update(
        DaemonSets,
        { ...fresh, status: { ...status, observedGeneration: ds.metadata.generation } },
        { subresource: 'status' },
      );
    }
  }

  /** with minReadySeconds, look again when the next ready pod becomes available */
  private availabilityRecheck(ds: KubeObject, plans: Map<string, NodePlan>): Result | void {
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (!minReady) return;
    let soonest = Infinity;
    const now = this.now();
    for (const plan of plans.values()) {
      for (const p of plan.pods) {
        const ms = msUntilAvailable(p, minReady, now);
        if (ms > 0) soonest = Math.min(soonest, ms);
      }
    }
    if (soonest !== Infinity) return { requeueAfterMs: soonest + 50 };
  }
}

function byCreation(a: KubeObject, b: KubeObject): number {
  return (
    String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')) ||
    String(a.metadata.name).localeCompare(String(b.metadata.name))
  );
}
