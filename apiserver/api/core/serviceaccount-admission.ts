/**
 * The ServiceAccount admission step of pod creation, as Kubernetes' plugin does it: spec.serviceAccountName defaults
 * to "default", the ServiceAccount must exist (Forbidden otherwise), the pod takes the ServiceAccount's
 * imagePullSecrets when it names none, and unless automountServiceAccountToken is false (the pod's setting wins over
 * the ServiceAccount's) a projected volume kube-api-access-<5 chars> (bound token, cluster CA, namespace) is added and
 * mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init container that does
 * not mount something there already. Mirror pods are left alone.
 */
import { forbidden } from '../../rest/status.ts';
import { generateNameSuffix } from '../../rest/meta.ts';

export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
export const TOKEN_VOLUME_PREFIX = 'kube-api-access-';
export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
/** the lifetime kubelets ask for: just over an hour, recognisable as the admission's default */
export const TOKEN_VOLUME_EXPIRATION_SECONDS = 3607;
export const MIRROR_POD_ANNOTATION = 'kubernetes.io/config.mirror';

/** the ServiceAccount of a namespace, or undefined when there is none */
export type ServiceAccountLookup = (namespace: string, name: string) => Promise<any | undefined> | any | undefined;

export interface AdmissionOptions {
  /** attempts for the "default" ServiceAccount, which its controller is expected to create shortly (Kubernetes: 10) */
  defaultAttempts?: number;
  /** pause between attempts; Kubernetes waits 100-200 ms */
  retryDelayMs?: () => number;
  random?: () => number;
}

/** the projected volume Kubernetes' admission adds for the API credentials */
export function apiAccessVolume(name: string): any {
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
export function shouldAutomount(sa: any, pod: any): boolean {
  const podSetting = pod?.spec?.automountServiceAccountToken;
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
): Promise<any | undefined> {
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
  pod: any,
  namespace: string,
  lookup: ServiceAccountLookup,
  opts: AdmissionOptions = {},
): Promise<void> {
  if (!pod || typeof pod !== 'object') return;
  const annotations = pod.metadata?.annotations;
  if (annotations && typeof annotations === 'object' && MIRROR_POD_ANNOTATION in annotations) return;
  const spec = pod.spec;
  if (!spec || typeof spec !== 'object') return;
  if (!spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount || DEFAULT_SERVICE_ACCOUNT;
  spec.serviceAccount = spec.serviceAccountName;
  const saName = String(spec.serviceAccountName);
  let sa: any;
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
    spec.imagePullSecrets = pullSecrets.map((s: any) => ({ name: s?.name }));
  }
}

/** the name the error names: the pod's name, else its generateName, as Kubernetes' admission reports it */
function podName(pod: any): string {
  return String(pod.metadata?.name || pod.metadata?.generateName || '');
}

function mountApiAccess(spec: any, random?: () => number): void {
  const volumes: any[] = Array.isArray(spec.volumes) ? spec.volumes : [];
  const existing = volumes.find((v) => typeof v?.name === 'string' && v.name.startsWith(TOKEN_VOLUME_PREFIX));
  const names = new Set(volumes.map((v) => v?.name));
  let volumeName = existing?.name as string | undefined;
  while (!volumeName || (!existing && names.has(volumeName)))
    volumeName = TOKEN_VOLUME_PREFIX + generateNameSuffix(5, random);
  let needed = false;
  for (const list of [spec.initContainers, spec.containers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list) {
      if (!c || typeof c !== 'object') continue;
      const mounts: any[] = Array.isArray(c.volumeMounts) ? c.volumeMounts : [];
      if (mounts.some((m) => m?.mountPath === SERVICE_ACCOUNT_MOUNT_PATH)) continue;
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
