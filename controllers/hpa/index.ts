/**
 * The HorizontalPodAutoscaler controller (autoscaling/v2), every 15 s per HPA: reads the target's scale, computes
 * the replicas each Resource metric (cpu/memory; Utilization of requests or AverageValue) asks for from the pods'
 * PodMetrics (metrics.ts, replicas.ts), takes the highest, stabilizes and limits it (behavior.ts), updates the target
 * through its scale subresource and writes the status with Kubernetes' conditions (AbleToScale, ScalingActive,
 * ScalingLimited) and events (SuccessfulRescale, FailedGetResourceMetric, ...). Pods, Object and External metrics
 * are reported as not supported.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import { keyOf, sameStatus, type KubeObject } from '../../lib/kube/object.ts';
import { HorizontalPodAutoscalers, Pods, resourceForKind, type Resource } from '../../lib/kube/resources.ts';
import { labelSelectorFromObject, type LabelSelector } from '../../lib/selectors.ts';
import { quantityFromMilli, formatQuantity } from '../../lib/kube/quantity.ts';
import type { ControllerContext, ControllerDefinition, Reconciler, Result } from '../controller.ts';
import {
  DEFAULT_SCALE_DOWN,
  DEFAULT_SCALE_UP,
  normalize,
  normalizeWithBehavior,
  recordScale,
  type Decision,
  type HpaMemory,
  type ScalingRules,
} from './behavior.ts';
import { listPodMetrics, milli, podUsage } from './metrics.ts';
import { averageValueReplicas, utilizationReplicas } from './replicas.ts';
import { rfc3339 } from '../../lib/time.ts';

/** how often each HPA is looked at (the controller's --horizontal-pod-autoscaler-sync-period) */
export const HPA_SYNC_PERIOD_MS = 15_000;

export const hpaController: ControllerDefinition<HpaReconciler> = {
  name: 'horizontal-pod-autoscaler',
  component: 'horizontal-pod-autoscaler',
  // its status writes come back as updates: only spec changes need a pass now (the others come every 15 s)
  for: { resource: HorizontalPodAutoscalers, update: (a, b) => a.metadata.generation !== b.metadata.generation },
  reconciler: (ctx) => new HpaReconciler(ctx),
};

/** a metric of spec.metrics, as far as this controller reads it */
interface MetricSpec {
  type?: string;
  resource?: {
    name?: string;
    target?: { type?: string; averageUtilization?: number; averageValue?: string | number };
  };
}

/** an entry of status.currentMetrics */
interface MetricStatus {
  type: string;
  resource?: { name: string; current: { averageValue: string; averageUtilization?: number } };
}

interface MetricOutcome {
  replicas: number;
  name: string;
  status: MetricStatus;
}

class MetricError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly status?: MetricStatus,
  ) {
    super(message);
  }
}

type ConditionType = 'AbleToScale' | 'ScalingActive' | 'ScalingLimited';
interface Cond {
  status: 'True' | 'False';
  reason: string;
  message: string;
}
type Conditions = Map<ConditionType, Cond>;

interface HpaCondition extends Cond {
  type: ConditionType;
  lastTransitionTime?: string;
}

/** the target's scale as read */
interface Scale {
  resource: Resource;
  name: string;
  current: number;
  selector: LabelSelector;
}

/** the size the metrics and limits ask for, and why */
interface Proposal {
  desired: number;
  reason: string;
  metrics: MetricStatus[] | undefined;
}

function quantity(m: number): string {
  return formatQuantity(quantityFromMilli(BigInt(Math.trunc(m))));
}

export class HpaReconciler implements Reconciler {
  private readonly memory = new Map<string, HpaMemory>();
  private readonly client: ApiClient;
  private readonly recorder: EventRecorder;
  private readonly hpas: Informer;
  private readonly pods: Informer;

  constructor(private readonly ctx: ControllerContext) {
    this.client = ctx.client;
    this.recorder = ctx.recorder;
    this.hpas = ctx.informers.informer(HorizontalPodAutoscalers);
    this.pods = ctx.informers.informer(Pods);
  }

  async reconcile(key: string): Promise<Result | void> {
    const hpa = this.hpas.get(key);
    if (!hpa) {
      this.memory.delete(key);
      return;
    }
    if (hpa.metadata.deletionTimestamp) return;
    await this.sync(key, hpa);
    return { requeueAfterMs: HPA_SYNC_PERIOD_MS };
  }

  private mem(key: string): HpaMemory {
    let m = this.memory.get(key);
    if (!m) this.memory.set(key, (m = { recommendations: [], scaleUps: [], scaleDowns: [] }));
    return m;
  }

  /** the steps of a pass; a step that fails writes the status that says so and ends it */
  private async sync(key: string, hpa: KubeObject): Promise<void> {
    const conds: Conditions = new Map();
    const scale = await this.readScale(hpa, conds);
    if (!scale) return;
    const proposal = await this.propose(key, hpa, scale, conds);
    if (!proposal) return;
    const outcome = await this.rescale(key, hpa, scale, proposal, conds);
    if (outcome === 'failed') return;
    const rescaled = outcome === 'rescaled';
    await this.writeStatus(
      hpa,
      {
        currentReplicas: scale.current,
        desiredReplicas: rescaled ? proposal.desired : scale.current,
        currentMetrics: proposal.metrics,
      },
      conds,
      rescaled,
    );
  }

  /** step 1: the target's replicas and selector */
  private async readScale(hpa: KubeObject, conds: Conditions): Promise<Scale | undefined> {
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = resourceForKind(ref.apiVersion ?? '', ref.kind ?? '');
    let obj: KubeObject;
    try {
      if (!target) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
      obj = await this.client.get<KubeObject>(target, hpa.metadata.namespace, ref.name);
    } catch (e) {
      const msg = `the HPA controller was unable to get the target's current scale: ${(e as Error).message}`;
      this.recorder.event(hpa, 'Warning', 'FailedGetScale', (e as Error).message);
      conds.set('AbleToScale', { status: 'False', reason: 'FailedGetScale', message: msg });
      await this.writeStatus(
        hpa,
        {
          currentReplicas: hpa.status?.currentReplicas ?? 0,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
          currentMetrics: hpa.status?.currentMetrics,
        },
        conds,
        false,
      );
      return undefined;
    }
    conds.set('AbleToScale', {
      status: 'True',
      reason: 'SucceededGetScale',
      message: "the HPA controller was able to get the target's current scale",
    });
    return {
      resource: target,
      name: ref.name,
      current: obj.spec?.replicas ?? 0,
      selector: labelSelectorFromObject(obj.spec?.selector),
    };
  }

  /** step 2: the size the metrics ask for, stabilized and limited; undefined when the metrics cannot say */
  private async propose(key: string, hpa: KubeObject, scale: Scale, conds: Conditions): Promise<Proposal | undefined> {
    const { current } = scale;
    const minReplicas: number = hpa.spec?.minReplicas ?? 1;
    const maxReplicas: number = hpa.spec?.maxReplicas;
    const metrics: MetricStatus[] | undefined = hpa.status?.currentMetrics;
    if (current === 0 && minReplicas !== 0) {
      conds.set('ScalingActive', {
        status: 'False',
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      });
      return { desired: current, reason: '', metrics };
    }
    if (current > maxReplicas)
      return { desired: maxReplicas, reason: 'Current number of replicas above Spec.MaxReplicas', metrics };
    if (current < minReplicas)
      return { desired: minReplicas, reason: 'Current number of replicas below Spec.MinReplicas', metrics };
    const computed = await this.computeReplicas(hpa, current, scale.selector, conds);
    if (computed.error) {
      this.recorder.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', computed.error);
      await this.writeStatus(
        hpa,
        {
          currentReplicas: current,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
          currentMetrics: computed.statuses,
        },
        conds,
        false,
      );
      return undefined;
    }
    const reason = computed.replicas > current ? `${computed.name} above target` : 'All metrics below target';
    const decision = this.decide(key, hpa, current, computed.replicas, minReplicas, maxReplicas, this.ctx.now());
    conds.set('AbleToScale', { status: 'True', ...decision.ableToScale });
    conds.set('ScalingLimited', decision.scalingLimited);
    return { desired: decision.replicas, reason, metrics: computed.statuses };
  }

  /** step 3: the new size through the target's scale subresource, remembered for the behavior policies */
  private async rescale(
    key: string,
    hpa: KubeObject,
    scale: Scale,
    proposal: Proposal,
    conds: Conditions,
  ): Promise<'rescaled' | 'unchanged' | 'failed'> {
    const { current } = scale;
    const { desired, reason } = proposal;
    if (desired === current) return 'unchanged';
    const ns = hpa.metadata.namespace!;
    try {
      await this.client.patch(scale.resource, ns, scale.name, { spec: { replicas: desired } }, 'merge', {
        subresource: 'scale',
      });
    } catch (e) {
      const err = (e as Error).message;
      this.recorder.event(hpa, 'Warning', 'FailedRescale', `New size: ${desired}; reason: ${reason}; error: ${err}`);
      conds.set('AbleToScale', {
        status: 'False',
        reason: 'FailedUpdateScale',
        message: `the HPA controller was unable to update the target scale: ${err}`,
      });
      await this.writeStatus(
        hpa,
        {
          currentReplicas: current,
          desiredReplicas: hpa.status?.desiredReplicas ?? 0,
          currentMetrics: proposal.metrics,
        },
        conds,
        false,
      );
      if (isNotFound(e)) return 'failed';
      const refText = `${hpa.spec?.scaleTargetRef?.kind}/${scale.name}`;
      throw new Error(`horizontal-pod-autoscaler ${key}: cannot scale ${refText} to ${desired}: ${err}`, {
        cause: e,
      });
    }
    conds.set('AbleToScale', {
      status: 'True',
      reason: 'SucceededRescale',
      message: `the HPA controller was able to update the target scale to ${desired}`,
    });
    this.recorder.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
    const behavior = hpa.spec?.behavior;
    recordScale(
      this.mem(key),
      current,
      desired,
      this.ctx.now(),
      { ...DEFAULT_SCALE_UP, ...behavior?.scaleUp },
      { ...DEFAULT_SCALE_DOWN, ...behavior?.scaleDown },
    );
    return 'rescaled';
  }

  private decide(
    key: string,
    hpa: KubeObject,
    current: number,
    desired: number,
    min: number,
    max: number,
    now: number,
  ): Decision {
    const behavior = hpa.spec?.behavior;
    if (!behavior) return normalize(this.mem(key), current, desired, min, max, now);
    const up: ScalingRules = { ...DEFAULT_SCALE_UP, ...behavior.scaleUp };
    const down: ScalingRules = { ...DEFAULT_SCALE_DOWN, ...behavior.scaleDown };
    return normalizeWithBehavior(this.mem(key), current, desired, min, max, up, down, now);
  }

  /** the highest replica count the metrics ask for; an error when none can be computed (or some cannot on a scale down) */
  private async computeReplicas(
    hpa: KubeObject,
    current: number,
    selector: LabelSelector,
    conds: Conditions,
  ): Promise<{ replicas: number; name: string; statuses: MetricStatus[] | undefined; error?: string }> {
    const ns = hpa.metadata.namespace!;
    const specs: MetricSpec[] = hpa.spec?.metrics ?? [];
    const pods = this.pods.listNamespace(ns).filter((p) => selector.matches(p.metadata.labels));
    const statuses: MetricStatus[] = [];
    let best: MetricOutcome | undefined;
    let invalid = 0;
    let firstError: MetricError | undefined;
    const metricsCache = new Map<string, Promise<KubeObject[]>>();
    const podMetrics = () => {
      let p = metricsCache.get('pods');
      if (!p) metricsCache.set('pods', (p = listPodMetrics(this.client, ns, selector)));
      return p;
    };
    for (const spec of specs) {
      try {
        const outcome = await this.resourceMetric(spec, current, pods, selector, podMetrics);
        statuses.push(outcome.status);
        if (!best || outcome.replicas > best.replicas) best = outcome;
      } catch (e) {
        const err = e instanceof MetricError ? e : new MetricError('FailedGetResourceMetric', (e as Error).message);
        invalid++;
        firstError ??= err;
        this.recorder.event(hpa, 'Warning', err.reason, err.message);
        conds.set('ScalingActive', {
          status: 'False',
          reason: err.reason,
          message: `the HPA was unable to compute the replica count: ${err.message}`,
        });
        statuses.push(err.status ?? { type: '' });
      }
    }
    const currentMetrics = statuses.length ? statuses : undefined;
    if (specs.length === 0)
      return {
        replicas: current,
        name: '',
        statuses: currentMetrics,
        error: 'invalid metrics (0 invalid out of 0), first error is: no metrics are specified',
      };
    if (invalid >= specs.length || (invalid > 0 && best && best.replicas < current)) {
      return {
        replicas: -1,
        name: '',
        statuses: currentMetrics,
        error: `invalid metrics (${invalid} invalid out of ${specs.length}), first error is: ${firstError!.message}`,
      };
    }
    conds.set('ScalingActive', {
      status: 'True',
      reason: 'ValidMetricFound',
      message: `the HPA was able to successfully calculate a replica count from ${best!.name}`,
    });
    return { replicas: best!.replicas, name: best!.name, statuses: currentMetrics };
  }

  private async resourceMetric(
    spec: MetricSpec,
    current: number,
    pods: KubeObject[],
    selector: LabelSelector,
    podMetrics: () => Promise<KubeObject[]>,
  ): Promise<MetricOutcome> {
    if (spec?.type !== 'Resource') {
      throw new MetricError(
        'InvalidMetricSourceType',
        `the HPA controller of skiff supports Resource metrics only, not ${JSON.stringify(spec?.type ?? '')}`,
      );
    }
    const name = spec.resource?.name ?? '';
    const target = spec.resource?.target ?? {};
    let items: KubeObject[];
    try {
      items = await podMetrics();
    } catch (e) {
      const what = target.type === 'AverageValue' ? 'usage' : 'utilization';
      throw new MetricError(
        'FailedGetResourceMetric',
        `failed to get ${name} ${what}: unable to get metrics for resource ${name}: ${(e as Error).message}`,
      );
    }
    const usage = podUsage(items, name, selector);
    if (
      target.type === 'AverageValue' ||
      (target.averageValue !== undefined && target.averageUtilization === undefined)
    ) {
      const targetMilli = milli(target.averageValue);
      if (Number.isNaN(targetMilli) || targetMilli <= 0)
        throw new MetricError(
          'FailedGetResourceMetric',
          `invalid resource metric source: the average value target of ${name} is not a positive quantity`,
        );
      let p;
      try {
        p = averageValueReplicas(current, targetMilli, pods, usage, name);
      } catch (e) {
        throw new MetricError('FailedGetResourceMetric', `failed to get ${name} usage: ${(e as Error).message}`);
      }
      return {
        replicas: p.replicas,
        name: `${name} resource`,
        status: { type: 'Resource', resource: { name, current: { averageValue: quantity(p.averageMilli) } } },
      };
    }
    if (typeof target.averageUtilization !== 'number') {
      throw new MetricError(
        'FailedGetResourceMetric',
        'invalid resource metric source: neither an average utilization target nor an average value (usage) target was set',
      );
    }
    let p;
    try {
      p = utilizationReplicas(current, target.averageUtilization, pods, usage, name);
    } catch (e) {
      throw new MetricError('FailedGetResourceMetric', `failed to get ${name} utilization: ${(e as Error).message}`);
    }
    return {
      replicas: p.replicas,
      name: `${name} resource utilization (percentage of request)`,
      status: {
        type: 'Resource',
        resource: { name, current: { averageValue: quantity(p.averageMilli), averageUtilization: p.utilization } },
      },
    };
  }

  /** step 4 (or the end of a failed step): the status, written when it changed */
  private async writeStatus(
    hpa: KubeObject,
    s: { currentReplicas: number; desiredReplicas: number; currentMetrics?: MetricStatus[] },
    conds: Conditions,
    rescaled: boolean,
  ): Promise<void> {
    const prev = hpa.status ?? {};
    const nowIso = rfc3339(new Date(this.ctx.now()));
    const conditions: HpaCondition[] = [];
    for (const type of ['AbleToScale', 'ScalingActive', 'ScalingLimited'] as ConditionType[]) {
      const old = (prev.conditions as HpaCondition[] | undefined)?.find((c) => c.type === type);
      const c = conds.get(type);
      if (!c) {
        if (old) conditions.push(old);
        continue;
      }
      conditions.push({
        type,
        status: c.status,
        lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : nowIso,
        reason: c.reason,
        message: c.message,
      });
    }
    const status: Record<string, unknown> = {};
    if (hpa.metadata.generation !== undefined) status.observedGeneration = hpa.metadata.generation;
    const lastScaleTime = rescaled ? nowIso : prev.lastScaleTime;
    if (lastScaleTime) status.lastScaleTime = lastScaleTime;
    status.currentReplicas = s.currentReplicas;
    status.desiredReplicas = s.desiredReplicas;
    if (s.currentMetrics?.length) status.currentMetrics = s.currentMetrics;
    if (conditions.length) status.conditions = conditions;
    if (sameStatus(prev, status)) return;
    try {
      await this.client.update(HorizontalPodAutoscalers, { ...hpa, status }, { subresource: 'status' });
    } catch (e) {
      if (isNotFound(e)) return;
      throw new Error(`horizontal-pod-autoscaler ${keyOf(hpa)}: cannot write its status: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }
}
