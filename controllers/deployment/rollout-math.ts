/** maxSurge and maxUnavailable as numbers of pods, rounded like Kubernetes (surge up, unavailable down). */
export function resolveIntOrPercent(v: unknown, total: number, roundUp: boolean, dflt: string): number {
  const val = v === undefined || v === null ? dflt : v;
  if (typeof val === 'number') return val;
  const m = /^(\d+)%$/.exec(String(val));
  if (!m) return Number(val) || 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** what of a Deployment the rollout math reads (of any object: a KubeObject is one) */
interface RollingSpec {
  spec?: { replicas?: number; strategy?: { rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } } };
  [k: string]: unknown;
}

export function surgeAndUnavailable(d: RollingSpec): { maxSurge: number; maxUnavailable: number } {
  const replicas = d.spec?.replicas ?? 1;
  const ru = d.spec?.strategy?.rollingUpdate ?? {};
  const maxSurge = resolveIntOrPercent(ru.maxSurge, replicas, true, '25%');
  let maxUnavailable = resolveIntOrPercent(ru.maxUnavailable, replicas, false, '25%');
  if (maxSurge === 0 && maxUnavailable === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable: Math.min(maxUnavailable, replicas) };
}
