/**
 * What an HPA may do with a recommendation, as Kubernetes decides it (normalizeDesiredReplicas and its behavior
 * variant): stabilization over a window of past recommendations, then either the classic limits (scale up at most
 * to max(2 x current, 4), min/max replicas) or the spec.behavior policies (Pods/Percent per period, selectPolicy
 * Max/Min/Disabled) over the scale events of the period. Each result comes with the condition reasons Kubernetes
 * gives (AbleToScale and ScalingLimited).
 */

export interface Recommendation {
  replicas: number;
  at: number;
}

export interface ScaleEvent {
  change: number;
  at: number;
}

/** what the controller remembers of one HPA between passes */
export interface HpaMemory {
  recommendations: Recommendation[];
  scaleUps: ScaleEvent[];
  scaleDowns: ScaleEvent[];
}

export interface ScalingPolicy {
  type: 'Pods' | 'Percent';
  value: number;
  periodSeconds: number;
}

export interface ScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: 'Max' | 'Min' | 'Disabled';
  policies?: ScalingPolicy[];
}

export interface Decision {
  replicas: number;
  ableToScale: { reason: string; message: string };
  scalingLimited: { status: 'True' | 'False'; reason: string; message: string };
}

/** the default downscale stabilization window (the controller's --horizontal-pod-autoscaler-downscale-stabilization) */
export const DOWNSCALE_STABILIZATION_MS = 300_000;

export const DEFAULT_SCALE_UP: Required<ScalingRules> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};

export const DEFAULT_SCALE_DOWN: Required<ScalingRules> = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

const READY = { reason: 'ReadyForNewScale', message: 'recommended size matches current size' };
const WITHIN = { reason: 'DesiredWithinRange', message: 'the desired count is within the acceptable range' };
const TOO_FEW = {
  reason: 'TooFewReplicas',
  message: 'the desired replica count is less than the minimum replica count',
};
const TOO_MANY = {
  reason: 'TooManyReplicas',
  message: 'the desired replica count is more than the maximum replica count',
};
const UP_LIMIT = {
  reason: 'ScaleUpLimit',
  message: 'the desired replica count is increasing faster than the maximum scale rate',
};
const DOWN_LIMIT = {
  reason: 'ScaleDownLimit',
  message: 'the desired replica count is decreasing faster than the maximum scale rate',
};

function limited(
  replicas: number,
  stabilized: number,
  why: { reason: string; message: string },
): Decision['scalingLimited'] {
  return { status: replicas === stabilized ? 'False' : 'True', ...why };
}

/** records a recommendation, replacing one older than the window (the memory stays as long as the window) */
function remember(mem: HpaMemory, replicas: number, now: number, windowMs: number): void {
  const old = mem.recommendations.findIndex((r) => r.at < now - windowMs);
  if (old >= 0) mem.recommendations[old] = { replicas, at: now };
  else mem.recommendations.push({ replicas, at: now });
}

/** without spec.behavior: the highest recommendation of the downscale window, scale up at most to max(2x, 4) */
export function normalize(
  mem: HpaMemory,
  current: number,
  desired: number,
  min: number,
  max: number,
  now: number,
  windowMs = DOWNSCALE_STABILIZATION_MS,
): Decision {
  let stabilized = desired;
  for (const r of mem.recommendations) if (r.at >= now - windowMs && r.replicas > stabilized) stabilized = r.replicas;
  remember(mem, desired, now, windowMs);
  const ableToScale =
    stabilized !== desired
      ? {
          reason: 'ScaleDownStabilized',
          message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
        }
      : READY;
  const upLimit = Math.max(2 * current, 4);
  const [maxAllowed, maxWhy] = max > upLimit ? [upLimit, UP_LIMIT] : [max, TOO_MANY];
  let replicas = stabilized;
  let why = WITHIN;
  if (stabilized < min) [replicas, why] = [min, TOO_FEW];
  else if (stabilized > maxAllowed) [replicas, why] = [maxAllowed, maxWhy];
  return { replicas, ableToScale, scalingLimited: limited(replicas, stabilized, why) };
}

function changeInPeriod(events: ScaleEvent[], periodSeconds: number, now: number): number {
  let sum = 0;
  for (const e of events) if (e.at > now - periodSeconds * 1000) sum += e.change;
  return sum;
}

export function scaleUpLimit(current: number, mem: HpaMemory, rules: ScalingRules, now: number): number {
  const select = rules.selectPolicy ?? 'Max';
  if (select === 'Disabled') return current;
  let result = select === 'Min' ? Infinity : -Infinity;
  for (const p of rules.policies ?? []) {
    const start =
      current -
      changeInPeriod(mem.scaleUps, p.periodSeconds, now) +
      changeInPeriod(mem.scaleDowns, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = select === 'Min' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

export function scaleDownLimit(current: number, mem: HpaMemory, rules: ScalingRules, now: number): number {
  const select = rules.selectPolicy ?? 'Max';
  if (select === 'Disabled') return current;
  let result = select === 'Min' ? -Infinity : Infinity;
  for (const p of rules.policies ?? []) {
    const start =
      current -
      changeInPeriod(mem.scaleUps, p.periodSeconds, now) +
      changeInPeriod(mem.scaleDowns, p.periodSeconds, now);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = select === 'Min' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return Number.isFinite(result) ? result : current;
}

/** with spec.behavior: stabilization windows of both directions, then the policies' rate limits */
export function normalizeWithBehavior(
  mem: HpaMemory,
  current: number,
  desired: number,
  min: number,
  max: number,
  up: ScalingRules,
  down: ScalingRules,
  now: number,
): Decision {
  const upWindow = (up.stabilizationWindowSeconds ?? DEFAULT_SCALE_UP.stabilizationWindowSeconds) * 1000;
  const downWindow = (down.stabilizationWindowSeconds ?? DOWNSCALE_STABILIZATION_MS / 1000) * 1000;
  let upRec = desired;
  let downRec = desired;
  for (const r of mem.recommendations) {
    if (r.at > now - upWindow) upRec = Math.min(upRec, r.replicas);
    if (r.at > now - downWindow) downRec = Math.max(downRec, r.replicas);
  }
  remember(mem, desired, now, Math.max(upWindow, downWindow));
  let stabilized = current;
  if (stabilized < upRec) stabilized = upRec;
  if (stabilized > downRec) stabilized = downRec;
  let ableToScale = READY;
  if (stabilized !== desired) {
    ableToScale =
      desired >= current
        ? {
            reason: 'ScaleUpStabilized',
            message: 'recent recommendations were lower than current one, applying the lowest recent recommendation',
          }
        : {
            reason: 'ScaleDownStabilized',
            message: 'recent recommendations were higher than current one, applying the highest recent recommendation',
          };
  }
  let replicas = stabilized;
  let why = WITHIN;
  if (stabilized > current) {
    const limit = Math.max(scaleUpLimit(current, mem, up, now), current);
    const [maxAllowed, maxWhy] = max > limit ? [limit, UP_LIMIT] : [max, TOO_MANY];
    if (stabilized > maxAllowed) [replicas, why] = [maxAllowed, maxWhy];
  } else if (stabilized < current) {
    const limit = Math.min(scaleDownLimit(current, mem, down, now), current);
    const [minAllowed, minWhy] = min < limit ? [limit, DOWN_LIMIT] : [min, TOO_FEW];
    if (stabilized < minAllowed) [replicas, why] = [minAllowed, minWhy];
  }
  return { replicas, ableToScale, scalingLimited: limited(replicas, stabilized, why) };
}

/** remembers a rescale for the rate limits; events older than the longest period are dropped */
export function recordScale(
  mem: HpaMemory,
  from: number,
  to: number,
  now: number,
  up: ScalingRules,
  down: ScalingRules,
): void {
  const longest = (rules: ScalingRules) => Math.max(0, ...(rules.policies ?? []).map((p) => p.periodSeconds)) * 1000;
  mem.scaleUps = mem.scaleUps.filter((e) => e.at > now - longest(up));
  mem.scaleDowns = mem.scaleDowns.filter((e) => e.at > now - longest(down));
  if (to > from) mem.scaleUps.push({ change: to - from, at: now });
  else if (to < from) mem.scaleDowns.push({ change: from - to, at: now });
}
