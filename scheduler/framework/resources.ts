/**
 * Resource requests of a pod as the scheduler counts them (Kubernetes' resource helpers), node allocatable, and
 * amounts written for people.
 */
import { milliValue, tryParseQuantity, wholeValue } from '../../lib/kube/quantity.ts';
import type { Container, Node, Pod } from '../../lib/kube/types/core-v1.ts';

export interface Resources {
  /** millicores */
  cpu: number;
  /** bytes */
  memory: number;
  /** bytes */
  ephemeralStorage: number;
  /** extended and other scalar resources, whole units */
  scalar?: Record<string, number>;
}

export const CPU = 'cpu';
export const MEMORY = 'memory';
export const EPHEMERAL = 'ephemeral-storage';

export function zero(): Resources {
  return { cpu: 0, memory: 0, ephemeralStorage: 0 };
}

function toResources(list: Record<string, unknown> | undefined): Resources {
  const r = zero();
  if (!list) return r;
  for (const [name, v] of Object.entries(list)) {
    const q = tryParseQuantity(v);
    if (!q) continue;
    if (name === CPU) r.cpu = Number(milliValue(q));
    else if (name === MEMORY) r.memory = Number(wholeValue(q));
    else if (name === EPHEMERAL) r.ephemeralStorage = Number(wholeValue(q));
    else if (name !== 'pods') (r.scalar ??= {})[name] = Number(wholeValue(q));
  }
  return r;
}

function addInto(a: Resources, b: Resources): void {
  a.cpu += b.cpu;
  a.memory += b.memory;
  a.ephemeralStorage += b.ephemeralStorage;
  if (b.scalar) for (const [k, v] of Object.entries(b.scalar)) (a.scalar ??= {})[k] = (a.scalar[k] ?? 0) + v;
}

function maxInto(a: Resources, b: Resources): void {
  a.cpu = Math.max(a.cpu, b.cpu);
  a.memory = Math.max(a.memory, b.memory);
  a.ephemeralStorage = Math.max(a.ephemeralStorage, b.ephemeralStorage);
  if (b.scalar) for (const [k, v] of Object.entries(b.scalar)) (a.scalar ??= {})[k] = Math.max(a.scalar[k] ?? 0, v);
}

const cache = new WeakMap<object, Resources>();
const nonZeroCache = new WeakMap<object, Resources>();

/** what a container without a cpu or memory request counts as when scoring (Kubernetes' non-zero defaults) */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 2 ** 20;

/**
 * The pod's requests as Kubernetes sums them: app containers and restartable init containers (sidecars) run
 * together; each other init container runs alone, beside the sidecars started before it; the pod needs the larger of
 * the two; plus the pod overhead. With `nonZero`, a container missing a cpu or memory request counts the defaults.
 */
function computeRequests(pod: Pod, nonZero: boolean): Resources {
  const of = (c: Container) => {
    const r = toResources(c.resources?.requests);
    if (nonZero) {
      if (!c.resources?.requests?.cpu) r.cpu = DEFAULT_MILLI_CPU_REQUEST;
      if (!c.resources?.requests?.memory) r.memory = DEFAULT_MEMORY_REQUEST;
    }
    return r;
  };
  const total = zero();
  for (const c of pod.spec?.containers ?? []) addInto(total, of(c));
  const sidecars = zero();
  for (const c of pod.spec?.initContainers ?? []) {
    const req = of(c);
    if (c.restartPolicy === 'Always') {
      addInto(total, req);
      addInto(sidecars, req);
    } else {
      const withSidecars = zero();
      addInto(withSidecars, req);
      addInto(withSidecars, sidecars);
      maxInto(total, withSidecars);
    }
  }
  if (pod.spec?.overhead) addInto(total, toResources(pod.spec.overhead));
  return total;
}

/** what the pod asks for (memoised per pod object) */
export function podRequests(pod: Pod): Resources {
  let r = cache.get(pod);
  if (!r) cache.set(pod, (r = computeRequests(pod, false)));
  return r;
}

/** the requests the scoring of resources counts: missing cpu/memory requests count as 100m and 200Mi */
export function podNonZeroRequests(pod: Pod): Resources {
  let r = nonZeroCache.get(pod);
  if (!r) nonZeroCache.set(pod, (r = computeRequests(pod, true)));
  return r;
}

/** a node's allocatable resources (falling back to capacity) and its pod limit */
export function nodeAllocatable(node: Node): { res: Resources; pods: number } {
  const list = node.status?.allocatable ?? node.status?.capacity ?? {};
  const q = tryParseQuantity(list.pods);
  return { res: toResources(list), pods: q ? Number(wholeValue(q)) : 110 };
}

export function add(a: Resources, b: Resources): void {
  addInto(a, b);
}

export function subtract(a: Resources, b: Resources): void {
  a.cpu -= b.cpu;
  a.memory -= b.memory;
  a.ephemeralStorage -= b.ephemeralStorage;
  if (b.scalar) for (const [k, v] of Object.entries(b.scalar)) (a.scalar ??= {})[k] = (a.scalar[k] ?? 0) - v;
}

/** "500m", "2", "1Gi": a readable amount for messages */
export function formatAmount(resource: string, v: number): string {
  if (resource === CPU) return v % 1000 === 0 ? String(v / 1000) : `${v}m`;
  if (resource === MEMORY || resource === EPHEMERAL) {
    for (const [unit, size] of [
      ['Gi', 2 ** 30],
      ['Mi', 2 ** 20],
      ['Ki', 2 ** 10],
    ] as const) {
      if (v >= size && v % size === 0) return `${v / size}${unit}`;
    }
    if (v >= 2 ** 20) return `${(v / 2 ** 20).toFixed(1)}Mi`;
    return String(v);
  }
  return String(v);
}
