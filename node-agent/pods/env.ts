/**
 * A container's environment as the kubelet builds it: envFrom first, then env (later entries win), values with
 * $(VAR) references expanded from the entries before them, and valueFrom resolved from the pod (fieldRef), the
 * container's resources (resourceFieldRef), ConfigMaps and Secrets. A missing ConfigMap, Secret or key that is not
 * optional is a ConfigError: the container cannot be created (CreateContainerConfigError).
 */
import type { ConfigMap, Container, Pod, Secret, ServiceAccountTokenProjection } from '../objects.ts';
import { parseQuantity } from './quantity.ts';

export class ConfigError extends Error {}

/** Reads ConfigMaps and Secrets of the pod's namespace (from the agent's cache or the API). */
export interface ObjectSource {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
  /** a token for a projected serviceAccountToken source, bound to the pod (absent: the node has none to give) */
  serviceAccountToken?(pod: Pod, source: ServiceAccountTokenProjection): Promise<string>;
  /** forget what was kept for a pod that is gone */
  forgetPod?(podUid: string): void;
}

export interface PodRuntimeFacts {
  podIP?: string;
  podIPs?: string[];
  hostIP?: string;
}

/** kubelet's $(VAR) expansion: $$ escapes, unknown references stay as written */
export function expand(input: string, vars: Map<string, string>): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const ch = input[i];
    if (ch !== '$' || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      out += vars.has(name) ? vars.get(name)! : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

function decodeSecret(v: string): string {
  return Buffer.from(v, 'base64').toString('utf8');
}

/** metadata.labels['k'] and metadata.annotations['k'] paths */
function mapEntry(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix + "['") || !path.endsWith("']")) return undefined;
  return path.slice(prefix.length + 2, -2);
}

export function fieldValue(pod: Pod, path: string, facts: PodRuntimeFacts): string {
  const label = mapEntry(path, 'metadata.labels');
  if (label !== undefined) return pod.metadata.labels?.[label] ?? '';
  const ann = mapEntry(path, 'metadata.annotations');
  if (ann !== undefined) return pod.metadata.annotations?.[ann] ?? '';
  const formatMap = (m: Record<string, string> | undefined) =>
    Object.keys(m ?? {})
      .sort()
      .map((k) => `${k}="${m![k]}"`)
      .join('\n');
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.hostIP':
      return facts.hostIP ?? '';
    case 'status.hostIPs':
      return facts.hostIP ?? '';
    case 'status.podIP':
      return facts.podIP ?? '';
    case 'status.podIPs':
      return (facts.podIPs ?? (facts.podIP ? [facts.podIP] : [])).join(',');
    default:
      throw new ConfigError(`unsupported fieldRef path "${path}"`);
  }
}

/** resourceFieldRef: limits.cpu etc. divided by the divisor and rounded up, as the downward API does */
export function resourceValue(
  container: Container | undefined,
  resource: string,
  divisor: string | undefined,
  nodeAllocatable: Record<string, string>,
): string {
  const [kind, name] = resource.split('.', 2) as ['limits' | 'requests', string];
  const given = container?.resources?.[kind]?.[name];
  let q: number | undefined = given !== undefined ? parseQuantity(String(given)) : undefined;
  if (q === undefined && kind === 'limits')
    q = nodeAllocatable[name] !== undefined ? parseQuantity(nodeAllocatable[name]) : undefined;
  if (q === undefined && kind === 'requests') q = 0;
  if (q === undefined) throw new ConfigError(`unsupported resourceFieldRef resource "${resource}"`);
  const d = divisor ? parseQuantity(divisor) : 1;
  if (!d) throw new ConfigError(`invalid divisor "${divisor}"`);
  return String(Math.ceil(q / d - 1e-9));
}

export async function containerEnv(
  pod: Pod,
  container: Container,
  source: ObjectSource,
  facts: PodRuntimeFacts,
  nodeAllocatable: Record<string, string>,
  serviceEnv: Map<string, string> = new Map(),
): Promise<{ key: string; value: string }[]> {
  const ns = pod.metadata.namespace!;
  const out = new Map<string, string>();
  for (const [k, v] of serviceEnv) out.set(k, v);
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = await source.configMap(ns, from.configMapRef.name);
      if (!cm) {
        if (from.configMapRef.optional) continue;
        throw new ConfigError(`configmap "${from.configMapRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(cm.data ?? {})) out.set(prefix + k, String(v));
    } else if (from.secretRef) {
      const s = await source.secret(ns, from.secretRef.name);
      if (!s) {
        if (from.secretRef.optional) continue;
        throw new ConfigError(`secret "${from.secretRef.name}" not found`);
      }
      for (const [k, v] of Object.entries(s.data ?? {})) out.set(prefix + k, decodeSecret(String(v)));
    }
  }
  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = fieldValue(pod, vf.fieldRef.fieldPath, facts);
      else if (vf.resourceFieldRef) {
        const ref = vf.resourceFieldRef;
        const target = ref.containerName
          ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
              (c) => c.name === ref.containerName,
            )
          : container;
        value = resourceValue(target, ref.resource, ref.divisor, nodeAllocatable);
      } else if (vf.configMapKeyRef) {
        const ref = vf.configMapKeyRef;
        const cm = await source.configMap(ns, ref.name);
        if (!cm) {
          if (ref.optional) continue;
          throw new ConfigError(`configmap "${ref.name}" not found`);
        }
        const v = cm.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`);
        }
        value = String(v);
      } else if (vf.secretKeyRef) {
        const ref = vf.secretKeyRef;
        const s = await source.secret(ns, ref.name);
        if (!s) {
          if (ref.optional) continue;
          throw new ConfigError(`secret "${ref.name}" not found`);
        }
        const v = s.data?.[ref.key];
        if (v === undefined) {
          if (ref.optional) continue;
          throw new ConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`);
        }
        value = decodeSecret(String(v));
      }
    } else {
      value = expand(e.value ?? '', out);
    }
    if (value !== undefined) out.set(e.name, value);
  }
  return [...out].map(([key, value]) => ({ key, value }));
}
