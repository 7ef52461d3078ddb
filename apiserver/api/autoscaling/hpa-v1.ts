/**
 * autoscaling/v1 HorizontalPodAutoscalers, stored as autoscaling/v2 ones (hpaV1View), converted as Kubernetes converts
 * them: v1 holds a CPU utilization target and status; everything else v2 has travels in annotations, so that a v2
 * object read and written back through v1 loses nothing:
 *   autoscaling.alpha.kubernetes.io/metrics          the other metric specs (v1 MetricSpec JSON)
 *   autoscaling.alpha.kubernetes.io/current-metrics  every current metric (v1 MetricStatus JSON)
 *   autoscaling.alpha.kubernetes.io/conditions       the status conditions
 *   autoscaling.alpha.kubernetes.io/behavior         spec.behavior (Kubernetes writes its internal type: Go field names)
 * A v1 object without any metric gets the default: 80% CPU utilization.
 */
import type { StorageView } from '../strategy.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { invalid } from '../validation/errors.ts';
import { validateHpa } from './hpa.ts';

export const METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/metrics';
export const CURRENT_METRICS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/current-metrics';
export const CONDITIONS_ANNOTATION = 'autoscaling.alpha.kubernetes.io/conditions';
export const BEHAVIOR_ANNOTATION = 'autoscaling.alpha.kubernetes.io/behavior';
const ROUND_TRIP = [
  METRICS_ANNOTATION,
  CURRENT_METRICS_ANNOTATION,
  CONDITIONS_ANNOTATION,
  BEHAVIOR_ANNOTATION,
  'autoscaling.alpha.kubernetes.io/scale-down-tolerance',
  'autoscaling.alpha.kubernetes.io/scale-up-tolerance',
];
const DEFAULT_CPU_UTILIZATION = 80;

const set = (v: unknown) => v !== undefined && v !== null;

/** an object with the keys whose values are set (Go's omitempty on pointers) */
function compact(o: Record<string, unknown>): Record<string, any> {
  const out: Record<string, any> = {};
  for (const [k, v] of Object.entries(o)) if (set(v)) out[k] = v;
  return out;
}

const isCpuUtilization = (m: any) =>
  m?.type === 'Resource' && m.resource?.name === 'cpu' && set(m.resource?.target?.averageUtilization);

// ---- metric specs and statuses: v2 <-> v1 ----

function specToV1(m: any): any {
  switch (m?.type) {
    case 'Object': {
      const o = m.object ?? {};
      return {
        type: 'Object',
        object: compact({
          target: o.describedObject,
          metricName: o.metric?.name ?? '',
          targetValue: o.target?.value ?? '0',
          selector: o.metric?.selector,
          averageValue: o.target?.averageValue,
        }),
      };
    }
    case 'Pods': {
      const p = m.pods ?? {};
      return {
        type: 'Pods',
        pods: compact({
          metricName: p.metric?.name ?? '',
          targetAverageValue: p.target?.averageValue ?? '0',
          selector: p.metric?.selector,
        }),
      };
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = m.type === 'Resource' ? 'resource' : 'containerResource';
      const r = m[key] ?? {};
      return {
        type: m.type,
        [key]: compact({
          name: r.name,
          targetAverageUtilization: r.target?.averageUtilization,
          targetAverageValue: r.target?.averageValue,
          container: key === 'containerResource' ? (r.container ?? '') : undefined,
        }),
      };
    }
    case 'External': {
      const e = m.external ?? {};
      return {
        type: 'External',
        external: compact({
          metricName: e.metric?.name ?? '',
          metricSelector: e.metric?.selector,
          targetValue: e.target?.value,
          targetAverageValue: e.target?.averageValue,
        }),
      };
    }
    default:
      return { type: m?.type };
  }
}

function specFromV1(m: any): any {
  switch (m?.type) {
    case 'Object': {
      const o = m.object ?? {};
      return {
        type: 'Object',
        object: {
          describedObject: o.target,
          metric: compact({ name: o.metricName, selector: o.selector }),
          target: compact({
            type: set(o.averageValue) ? 'AverageValue' : 'Value',
            value: o.targetValue,
            averageValue: o.averageValue,
          }),
        },
      };
    }
    case 'Pods': {
      const p = m.pods ?? {};
      return {
        type: 'Pods',
        pods: {
          metric: compact({ name: p.metricName, selector: p.selector }),
          target: { type: 'AverageValue', averageValue: p.targetAverageValue },
        },
      };
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = m.type === 'Resource' ? 'resource' : 'containerResource';
      const r = m[key] ?? {};
      const target = set(r.targetAverageUtilization)
        ? { type: 'Utilization', averageUtilization: r.targetAverageUtilization }
        : compact({ type: 'AverageValue', averageValue: r.targetAverageValue });
      return {
        type: m.type,
        [key]: compact({ name: r.name, target, container: key === 'containerResource' ? r.container : undefined }),
      };
    }
    case 'External': {
      const e = m.external ?? {};
      return {
        type: 'External',
        external: {
          metric: compact({ name: e.metricName, selector: e.metricSelector }),
          target: compact({
            type: set(e.targetValue) ? 'Value' : 'AverageValue',
            value: e.targetValue,
            averageValue: e.targetAverageValue,
          }),
        },
      };
    }
    default:
      return { type: m?.type };
  }
}

function statusToV1(m: any): any {
  switch (m?.type) {
    case 'Object': {
      const o = m.object ?? {};
      return {
        type: 'Object',
        object: compact({
          target: o.describedObject,
          metricName: o.metric?.name ?? '',
          currentValue: o.current?.value ?? '0',
          selector: o.metric?.selector,
          averageValue: o.current?.averageValue,
        }),
      };
    }
    case 'Pods': {
      const p = m.pods ?? {};
      return {
        type: 'Pods',
        pods: compact({
          metricName: p.metric?.name ?? '',
          currentAverageValue: p.current?.averageValue ?? '0',
          selector: p.metric?.selector,
        }),
      };
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = m.type === 'Resource' ? 'resource' : 'containerResource';
      const r = m[key] ?? {};
      return {
        type: m.type,
        [key]: compact({
          name: r.name,
          currentAverageUtilization: r.current?.averageUtilization,
          currentAverageValue: r.current?.averageValue ?? '0',
          container: key === 'containerResource' ? (r.container ?? '') : undefined,
        }),
      };
    }
    case 'External': {
      const e = m.external ?? {};
      return {
        type: 'External',
        external: compact({
          metricName: e.metric?.name ?? '',
          metricSelector: e.metric?.selector,
          currentValue: e.current?.value ?? '0',
          currentAverageValue: e.current?.averageValue,
        }),
      };
    }
    default:
      return { type: m?.type };
  }
}

function statusFromV1(m: any): any {
  switch (m?.type) {
    case 'Object': {
      const o = m.object ?? {};
      return {
        type: 'Object',
        object: {
          describedObject: o.target,
          metric: compact({ name: o.metricName, selector: o.selector }),
          current: compact({ value: o.currentValue, averageValue: o.averageValue }),
        },
      };
    }
    case 'Pods': {
      const p = m.pods ?? {};
      return {
        type: 'Pods',
        pods: {
          metric: compact({ name: p.metricName, selector: p.selector }),
          current: compact({ averageValue: p.currentAverageValue }),
        },
      };
    }
    case 'Resource':
    case 'ContainerResource': {
      const key = m.type === 'Resource' ? 'resource' : 'containerResource';
      const r = m[key] ?? {};
      return {
        type: m.type,
        [key]: compact({
          name: r.name,
          current: compact({ averageUtilization: r.currentAverageUtilization, averageValue: r.currentAverageValue }),
          container: key === 'containerResource' ? r.container : undefined,
        }),
      };
    }
    case 'External': {
      const e = m.external ?? {};
      return {
        type: 'External',
        external: {
          metric: compact({ name: e.metricName, selector: e.metricSelector }),
          current: compact({ value: e.currentValue, averageValue: e.currentAverageValue }),
        },
      };
    }
    default:
      return { type: m?.type };
  }
}

// ---- behavior: Kubernetes writes its internal type, whose JSON keys are the Go field names ----

function rulesToInternal(r: any): any {
  if (!isObj(r)) return null;
  return {
    StabilizationWindowSeconds: r.stabilizationWindowSeconds ?? null,
    SelectPolicy: r.selectPolicy ?? null,
    Policies: list(r.policies).map((p) => ({
      Type: p?.type ?? '',
      Value: p?.value ?? 0,
      PeriodSeconds: p?.periodSeconds ?? 0,
    })),
    Tolerance: r.tolerance ?? null,
  };
}

function rulesFromInternal(r: any): any {
  if (!isObj(r)) return undefined;
  return compact({
    stabilizationWindowSeconds: r.StabilizationWindowSeconds,
    selectPolicy: r.SelectPolicy,
    policies: Array.isArray(r.Policies)
      ? r.Policies.map((p: any) => ({ type: p?.Type, value: p?.Value, periodSeconds: p?.PeriodSeconds }))
      : undefined,
    tolerance: r.Tolerance,
  });
}

function parse(text: unknown): unknown {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined; // Kubernetes ignores an annotation it cannot read
  }
}

/** the annotations without the round-trip ones (undefined when none is left) */
function withoutRoundTrip(annotations: unknown): Record<string, string> | undefined {
  if (!isObj(annotations)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(annotations)) if (!ROUND_TRIP.includes(k)) out[k] = v as string;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** an autoscaling/v2 HorizontalPodAutoscaler as autoscaling/v1 shows it */
export function hpaV2ToV1(hpa: any): any {
  const { apiVersion: _a, kind: _k, metadata, spec = {}, status, ...rest } = hpa ?? {};
  const annotations: Record<string, string> = withoutRoundTrip(metadata?.annotations) ?? {};
  const metrics = list(spec.metrics);
  const cpu = metrics.find((m) => m?.type === 'Resource' && m.resource?.name === 'cpu');
  const others = metrics.filter((m) => !isCpuUtilization(m)).map(specToV1);
  if (others.length > 0) annotations[METRICS_ANNOTATION] = JSON.stringify(others);
  if (isObj(spec.behavior)) {
    annotations[BEHAVIOR_ANNOTATION] = JSON.stringify({
      ScaleUp: rulesToInternal(spec.behavior.scaleUp),
      ScaleDown: rulesToInternal(spec.behavior.scaleDown),
    });
  }
  const v1spec = compact({
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas ?? 0,
    targetCPUUtilizationPercentage: cpu?.resource?.target?.averageUtilization,
  });
  let v1status: any;
  if (isObj(status)) {
    const current = list(status.currentMetrics);
    if (current.length > 0) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(current.map(statusToV1));
    if (list(status.conditions).length > 0) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(status.conditions);
    const cpuNow = current.find(
      (m) => m?.type === 'Resource' && m.resource?.name === 'cpu' && set(m.resource?.current?.averageUtilization),
    );
    v1status = compact({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas ?? 0,
      desiredReplicas: status.desiredReplicas ?? 0,
      currentCPUUtilizationPercentage: cpuNow?.resource?.current?.averageUtilization,
    });
  }
  const md = { ...(metadata ?? {}) };
  if (Object.keys(annotations).length > 0) md.annotations = annotations;
  else delete md.annotations;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'HorizontalPodAutoscaler',
    metadata: md,
    ...rest,
    spec: v1spec,
    ...(v1status ? { status: v1status } : {}),
  };
}

/** an autoscaling/v1 HorizontalPodAutoscaler in its stored, autoscaling/v2 form */
export function hpaV1ToV2(hpa: any): any {
  const { apiVersion: _a, kind: _k, metadata, spec = {}, status, ...rest } = hpa ?? {};
  const ann = isObj(metadata?.annotations) ? metadata.annotations : {};
  let metrics: any[] = [];
  const others = parse(ann[METRICS_ANNOTATION]);
  if (Array.isArray(others)) metrics = others.map(specFromV1);
  if (set(spec.targetCPUUtilizationPercentage)) {
    metrics.push({
      type: 'Resource',
      resource: {
        name: 'cpu',
        target: { type: 'Utilization', averageUtilization: spec.targetCPUUtilizationPercentage },
      },
    });
  }
  // v1's implicit default, made explicit as Kubernetes does on the way in
  if (metrics.length === 0)
    metrics = [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: DEFAULT_CPU_UTILIZATION } },
      },
    ];
  const v2spec: any = compact({
    scaleTargetRef: spec.scaleTargetRef,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
    metrics,
  });
  const behavior = parse(ann[BEHAVIOR_ANNOTATION]);
  if (isObj(behavior)) {
    const b = compact({
      scaleUp: rulesFromInternal(behavior.ScaleUp),
      scaleDown: rulesFromInternal(behavior.ScaleDown),
    });
    if (Object.keys(b).length > 0) v2spec.behavior = b;
  }
  let v2status: any;
  if (isObj(status)) {
    let currentMetrics: any[] | undefined;
    const current = parse(ann[CURRENT_METRICS_ANNOTATION]);
    if (Array.isArray(current)) currentMetrics = current.map(statusFromV1);
    else if (set(status.currentCPUUtilizationPercentage)) {
      currentMetrics = [
        {
          type: 'Resource',
          resource: { name: 'cpu', current: { averageUtilization: status.currentCPUUtilizationPercentage } },
        },
      ];
    }
    const conditions = parse(ann[CONDITIONS_ANNOTATION]);
    v2status = compact({
      observedGeneration: status.observedGeneration,
      lastScaleTime: status.lastScaleTime,
      currentReplicas: status.currentReplicas,
      desiredReplicas: status.desiredReplicas ?? 0,
      currentMetrics,
      conditions: Array.isArray(conditions) ? conditions : undefined,
    });
  }
  const md = { ...(metadata ?? {}) };
  const kept = withoutRoundTrip(md.annotations);
  if (kept) md.annotations = kept;
  else delete md.annotations;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: md,
    ...rest,
    spec: v2spec,
    ...(v2status ? { status: v2status } : {}),
  };
}

export const hpaV1View: StorageView = { toStorage: hpaV1ToV2, fromStorage: hpaV2ToV1 };

/** checked in the stored form, as Kubernetes validates its internal one; v1's own target keeps its v1 field name */
export const hpaV1Strategy = makeStrategy({
  namespaced: true,
  defaults(hpa) {
    const spec = (hpa.spec ??= {});
    if (spec.minReplicas === undefined || spec.minReplicas === null) spec.minReplicas = 1;
  },
  validate(hpa) {
    const errs = validateHpa(hpaV1ToV2(hpa));
    const t = hpa?.spec?.targetCPUUtilizationPercentage;
    if (typeof t === 'number' && t < 1)
      errs.push(invalid('spec.targetCPUUtilizationPercentage', t, 'must be greater than 0'));
    return errs;
  },
});
