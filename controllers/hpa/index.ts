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
import { HorizontalPodAutoscalers, Pods, resourceForKind } from '../../lib/kube/resources.ts';
import { labelSelectorFromObject, type LabelSelector } from '../../lib/selectors.ts';
import { quantityFromMilli, formatQuantity } from '../../lib/kube/quantity.ts';
import type { ControllerDefinition, Reconciler, Result } from '../controller.ts';
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

export const hpaController: ControllerDefinition = {
  name: 'horizontal-pod-autoscaler',
  component: 'horizontal-pod-autoscaler',
  setup(ctx) {
    const hpas = ctx.informers.informer(HorizontalPodAutoscalers);
    const pods = ctx.informers.informer(Pods);
    hpas.addEventHandler({
      onAdd: (h) => ctx.enqueue(keyOf(h)),
      onUpdate: (a, b) => {
        // status writes of this controller come back as updates: only spec changes need a pass now
        if (a.metadata.generation !== b.metadata.generation) ctx.enqueue(keyOf(b));
      },
      onDelete: (h) => ctx.enqueue(keyOf(h)),
    });
    return new HpaReconciler(ctx.client, ctx.recorder, hpas, pods);
  },
};

interface MetricOutcome {
  replicas: number;
  name: string;
  status: any;
}

class MetricError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly status?: any,
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

function quantity(m: number): string {
  return formatQuantity(quantityFromMilli(BigInt(Math.trunc(m))));
}

export class HpaReconciler implements Reconciler {
  private readonly memory = new Map<string, HpaMemory>();

  constructor(
    private readonly client: ApiClient,
    private readonly recorder: EventRecorder,
    private readonly hpas: Informer,
    private readonly pods: Informer,
    private readonly now: () => number = () => Date.now(),
  ) {}

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

  private async sync(key: string, hpa: KubeObject): Promise<void> {
    const now = this.now();
    const spec = hpa.spec ?? {};
    const ns = hpa.metadata.namespace!;
    const conds = new Map<ConditionType, Cond>();
    const ref = spec.scaleTargetRef ?? {};
    const refText = `${ref.kind}/${ref.name}`;
    const minReplicas: number = spec.minReplicas ?? 1;
    const maxReplicas: number = spec.maxReplicas;

    // the target's scale
    const target = resourceForKind(ref.apiVersion ?? '', ref.kind ?? '');
    let obj: KubeObject;
    try {
      if (!target) throw new Error(`no matches for kind "${ref.kind}" in version "${ref.apiVersion}"`);
      obj = await this.client.get<KubeObject>(target, ns, ref.name);
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
      return;
    }
    conds.set('AbleToScale', {
      status: 'True',
      reason: 'SucceededGetScale',
      message: "the HPA controller was able to get the target's current scale",
    });
    const current: number = obj.spec?.replicas ?? 0;
    const selector = labelSelectorFromObject(obj.spec?.selector);

    let desired = 0;
    let reason = '';
    let metricStatuses: any[] | undefined = hpa.status?.currentMetrics;
    if (current === 0 && minReplicas !== 0) {
      conds.set('ScalingActive', {
        status: 'False',
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      });
    } else if (current > maxReplicas) {
      reason = 'Current number of replicas above Spec.MaxReplicas';
      desired = maxReplicas;
    } else if (current < minReplicas) {
      reason = 'Current number of replicas below Spec.MinReplicas';
      desired = minReplicas;
    } else {
      const computed = await this.computeReplicas(hpa, current, selector, ns, conds);
      metricStatuses = computed.statuses;
      if (computed.error) {
        this.recorder.event(hpa, 'Warning', 'FailedComputeMetricsReplicas', computed.error);
        await this.writeStatus(
          hpa,
          {
            currentReplicas: current,
            desiredReplicas: hpa.status?.desiredReplicas ?? 0,
            currentMetrics: metricStatuses,
          },
          conds,
          false,
        );
        return;
      }
      desired = computed.replicas;
      reason = desired > current ? `${computed.name} above target` : 'All metrics below target';
      const decision = this.decide(key, hpa, current, desired, minReplicas, maxReplicas, now);
      desired = decision.replicas;
      conds.set('AbleToScale', { status: 'True', ...decision.ableToScale });
      conds.set('ScalingLimited', decision.scalingLimited);
    }
    const rescale = desired !== current && !(current === 0 && minReplicas !== 0);

    if (rescale) {
      try {
        await this.client.patch(target!, ns, ref.name, { spec: { replicas: desired } }, 'merge', {
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
            currentMetrics: metricStatuses,
          },
          conds,
          false,
        );
        if (isNotFound(e)) return;
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
        now,
        { ...DEFAULT_SCALE_UP, ...behavior?.scaleUp },
        { ...DEFAULT_SCALE_DOWN, ...behavior?.scaleDown },
      );
    } else {
      desired = current;
    }
    await this.writeStatus(
      hpa,
      { currentReplicas: current, desiredReplicas: desired, currentMetrics: metricStatuses },
      conds,
      rescale,
    );
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
    ns: string,
    conds: Map<ConditionType, Cond>,
  ): Promise<{ replicas: number; name: string; statuses: any[] | undefined; error?: string }> {
    const specs: any[] = hpa.spec?.metrics ?? [];
    const pods = this.pods.listNamespace(ns).filter((p) => selector.matches(p.metadata.labels));
    const statuses: any[] = [];
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
    spec: any,
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
    const name: string = spec.resource?.name;
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

  private async writeStatus(
    hpa: KubeObject,
    s: { currentReplicas: number; desiredReplicas: number; currentMetrics?: any[] },
    conds: Map<ConditionType, Cond>,
    rescaled: boolean,
  ): Promise<void> {
    const prev = hpa.status ?? {};
    const nowIso = rfc3339(new Date(this.now()));
    const conditions: any[] = [];
    for (const type of ['AbleToScale', 'ScalingActive', 'ScalingLimited'] as ConditionType[]) {
      const old = (prev.conditions as any[] | undefined)?.find((c) => c.type === type);
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
    const status: any = {};
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
