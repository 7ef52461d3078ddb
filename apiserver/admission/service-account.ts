/**
 * ServiceAccount: the admission of new pods as Kubernetes' plugin does it: spec.serviceAccountName defaults to
 * "default", the ServiceAccount must exist (Forbidden otherwise), the pod takes the ServiceAccount's imagePullSecrets
 * when it names none, and unless automountServiceAccountToken is false (the pod's setting wins over the
 * ServiceAccount's) a projected volume kube-api-access-<5 chars> (bound token, cluster CA, namespace) is added and
 * mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init container that does
 * not mount something there already. Mirror pods are left alone.
 */
import { forbidden } from '../rest/status.ts';
import { generateNameSuffix } from '../rest/meta.ts';
import { isObject, podOf, type Attributes, type MutatingPlugin, type Operation } from './admission.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** the lifetime kubelets ask for: just over an hour, recognisable as the admission's default */
export const TOKEN_VOLUME_EXPIRATION_SECONDS = 3607;
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

type Json = Record<string, unknown>;

/** the ServiceAccount of a namespace, or undefined when there is none */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<Json | undefined> | Json | undefined;

export interface AdmissionOptions {
  /** attempts for the "default" ServiceAccount, which its controller is expected to create shortly (Kubernetes: 10) */
  defaultAttempts?: number;
  /** pause between attempts; Kubernetes waits 100-200 ms */
  retryDelayMs?: () => number;
  random?: () => number;
}

/** the projected volume Kubernetes' admission adds for the API credentials */
export function apiAccessVolume(name: string): Json {
  return {
    name,
    projected: {
      sources: [
        { serviceAccountToken: { expirationSeconds: TOKEN_VOLUME_EXPIRATION_SECONDS, path: 'token' } },
        { configMap: { name: ROOT_CA_CONFIGMAP, items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        {
          downwardAPI: {
            items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
          },
        },
      ],
      defaultMode: 0o644,
    },
  };
}

/** the pod's own automountServiceAccountToken wins, then the ServiceAccount's, else true */
export function shouldAutomount(sa: Json | undefined, pod: Json | undefined): boolean {
  const spec = pod?.spec;
  const podSetting = isObject(spec) ? spec.automountServiceAccountToken : undefined;
  if (typeof podSetting === 'boolean') return podSetting;
  const saSetting = sa?.automountServiceAccountToken;
  if (typeof saSetting === 'boolean') return saSetting;
  return true;
}

async function lookupWithRetries(
  lookup: ServiceAccountLookup,
  ns: string,
  name: string,
  opts: AdmissionOptions,
): Promise<Json | undefined> {
  const attempts = name === DEFAULT_SERVICE_ACCOUNT ? (opts.defaultAttempts ?? 10) : 1;
  const delay = opts.retryDelayMs ?? (() => 100 + Math.floor(Math.random() * 100));
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, delay()));
    const sa = await lookup(ns, name);
    if (sa) return sa;
  }
  return undefined;
}

/**
 * Admits a new pod (already defaulted) in place; throws the Forbidden error Kubernetes answers when the
 * ServiceAccount is missing.
 */
export async function admitPodServiceAccount(
  pod: unknown,
  namespace: string,
  lookup: ServiceAccountLookup,
  opts: AdmissionOptions = {},
): Promise<void> {
  if (!isObject(pod)) return;
  const annotations = isObject(pod.metadata) ? pod.metadata.annotations : undefined;
  if (isObject(annotations) && MIRROR_POD_ANNOTATION in annotations) return;
  const spec = pod.spec;
  if (!isObject(spec)) return;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || DEFAULT_SERVICE_ACCOUNT;
  spec.serviceAccount = spec.serviceAccountName;
  const saName = String(spec.serviceAccountName);
  let sa: Json | undefined;
  try {
    sa = await lookupWithRetries(lookup, namespace, saName, opts);
  } catch (e) {
    throw forbidden(
      '',
      'pods',
      podName(pod),
      `error looking up service account ${namespace}/${saName}: ${(e as Error).message}`,
    );
  }
  if (!sa)
    throw forbidden(
      '',
      'pods',
      podName(pod),
      `error looking up service account ${namespace}/${saName}: serviceaccount "${saName}" not found`,
    );

  if (shouldAutomount(sa, pod)) mountApiAccess(spec, opts.random);

  const pullSecrets = Array.isArray(sa.imagePullSecrets) ? sa.imagePullSecrets : [];
  if ((!Array.isArray(spec.imagePullSecrets) || spec.imagePullSecrets.length === 0) && pullSecrets.length > 0) {
    spec.imagePullSecrets = pullSecrets.map((s: unknown) => ({ name: isObject(s) ? s.name : undefined }));
  }
}

/** the name the error names: the pod's name, else its generateName, as Kubernetes' admission reports it */
function podName(pod: Json): string {
  const md = isObject(pod.metadata) ? pod.metadata : {};
  return String(md.name || md.generateName || '');
}

const nameOf = (v: unknown): unknown => (isObject(v) ? v.name : undefined);

function mountApiAccess(spec: Json, random?: () => number): void {
  const volumes: unknown[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => {
    const name = nameOf(v);
    return typeof name === 'string' && name.startsWith(TOKEN_VOLUME_PREFIX);
  });
  const names = new Set(volumes.map(nameOf));
  let volumeName = nameOf(existing) as string | undefined;
  while (!volumeName || (!existing && names.has(volumeName)))
    volumeName = TOKEN_VOLUME_PREFIX + generateNameSuffix(5, random);
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!isObject(c)) continue;
      const mounts: unknown[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some((m) => isObject(m) && m.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
      mounts.push({ name: volumeName, readOnly: true, mountPath: SERVICE_ACCOUNT_MOUNT_PATH });
      c.volumeMounts = mounts;
      needed = true;
    }
  }
  if (needed && !existing) {
    volumes.push(apiAccessVolume(volumeName));
    spec.volumes = volumes;
  }
}

/** the plugin: new pods (not their subresources) of every namespace */
export class ServiceAccount implements MutatingPlugin {
  readonly name = 'ServiceAccount';

  constructor(
    private readonly lookup: ServiceAccountLookup,
    private readonly opts: AdmissionOptions = {},
  ) {}

  handles(op: Operation): boolean {
    return op === 'CREATE';
  }

  async admit(a: Attributes): Promise<void> {
    const pod = podOf(a);
    // NamespaceLifecycle has already refused a missing or terminating namespace
    if (pod) await admitPodServiceAccount(pod, a.namespace, this.lookup, this.opts);
  }
}
