/**
 * Defaulting of pod specs (core/v1 SetDefaults_PodSpec, _Container, _Probe, _Volume, ...), shared by Pods and every
 * workload's pod template.
 */
import { canonicalQuantity } from '../../../lib/kube/quantity.ts';

const DEFAULT_MODE = 0o644;

/** imagePullPolicy from the image reference: Always for :latest or no tag, IfNotPresent otherwise */
export function defaultPullPolicy(image: string): 'Always' | 'IfNotPresent' {
  // an empty (invalid) image has no tag to judge: IfNotPresent, and validation reports the image itself
  if (image === '' || image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return 'Always';
  return image.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHttpGet(h: any): void {
  if (!h) return;
  if (!h.path) h.path = '/';
  if (!h.scheme) h.scheme = 'HTTP';
}

function defaultHandler(h: any): void {
  if (!h || typeof h !== 'object') return;
  defaultHttpGet(h.httpGet);
}

function defaultProbe(p: any): void {
  if (!p || typeof p !== 'object') return;
  if (!p.timeoutSeconds) p.timeoutSeconds = 1;
  if (!p.periodSeconds) p.periodSeconds = 10;
  if (!p.successThreshold) p.successThreshold = 1;
  if (!p.failureThreshold) p.failureThreshold = 3;
  defaultHttpGet(p.httpGet);
  if (p.grpc && p.grpc.service === undefined) p.grpc.service = '';
}

function canonicalResources(res: any): void {
  if (!res || typeof res !== 'object') return;
  for (const key of ['limits', 'requests']) {
    const m = res[key];
    if (!m || typeof m !== 'object') continue;
    for (const k of Object.keys(m)) m[k] = canonicalQuantity(m[k]);
  }
}

function defaultEnv(env: any): void {
  if (!Array.isArray(env)) return;
  for (const e of env) {
    const fr = e?.valueFrom?.fieldRef;
    if (fr && !fr.apiVersion) fr.apiVersion = 'v1';
    const rr = e?.valueFrom?.resourceFieldRef;
    if (rr && rr.divisor !== undefined) rr.divisor = canonicalQuantity(rr.divisor);
  }
}

export function defaultContainer(c: any, hostNetwork: boolean): void {
  if (!c || typeof c !== 'object') return;
  if (!c.imagePullPolicy) c.imagePullPolicy = defaultPullPolicy(typeof c.image === 'string' ? c.image : '');
  if (!c.terminationMessagePath) c.terminationMessagePath = '/dev/termination-log';
  if (!c.terminationMessagePolicy) c.terminationMessagePolicy = 'File';
  if (Array.isArray(c.ports)) {
    for (const p of c.ports) {
      if (!p || typeof p !== 'object') continue;
      if (!p.protocol) p.protocol = 'TCP';
      if (hostNetwork && !p.hostPort && p.containerPort) p.hostPort = p.containerPort;
    }
  }
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
  defaultEnv(c.env);
  if (c.resources === undefined) c.resources = {};
  canonicalResources(c.resources);
}

const VOLUME_SOURCES = [
  'emptyDir',
  'hostPath',
  'gcePersistentDisk',
  'awsElasticBlockStore',
  'gitRepo',
  'secret',
  'nfs',
  'iscsi',
  'glusterfs',
  'persistentVolumeClaim',
  'rbd',
  'flexVolume',
  'cinder',
  'cephfs',
  'flocker',
  'downwardAPI',
  'fc',
  'azureFile',
  'configMap',
  'vsphereVolume',
  'quobyte',
  'azureDisk',
  'photonPersistentDisk',
  'projected',
  'portworxVolume',
  'scaleIO',
  'storageos',
  'csi',
  'ephemeral',
  'image',
] as const;
export const VOLUME_SOURCE_NAMES: readonly string[] = VOLUME_SOURCES;

function defaultDownwardItems(items: any): void {
  if (!Array.isArray(items)) return;
  for (const it of items) {
    if (it?.fieldRef && !it.fieldRef.apiVersion) it.fieldRef.apiVersion = 'v1';
    if (it?.resourceFieldRef?.divisor !== undefined)
      it.resourceFieldRef.divisor = canonicalQuantity(it.resourceFieldRef.divisor);
  }
}

export function defaultVolume(v: any): void {
  if (!v || typeof v !== 'object') return;
  if (!VOLUME_SOURCES.some((s) => v[s] !== undefined && v[s] !== null)) v.emptyDir = {};
  if (v.emptyDir?.sizeLimit !== undefined) v.emptyDir.sizeLimit = canonicalQuantity(v.emptyDir.sizeLimit);
  if (v.secret && v.secret.defaultMode === undefined) v.secret.defaultMode = DEFAULT_MODE;
  if (v.configMap && v.configMap.defaultMode === undefined) v.configMap.defaultMode = DEFAULT_MODE;
  if (v.downwardAPI) {
    if (v.downwardAPI.defaultMode === undefined) v.downwardAPI.defaultMode = DEFAULT_MODE;
    defaultDownwardItems(v.downwardAPI.items);
  }
  if (v.projected) {
    if (v.projected.defaultMode === undefined) v.projected.defaultMode = DEFAULT_MODE;
    for (const src of Array.isArray(v.projected.sources) ? v.projected.sources : []) {
      defaultDownwardItems(src?.downwardAPI?.items);
      const sat = src?.serviceAccountToken;
      if (sat && sat.expirationSeconds === undefined) sat.expirationSeconds = 3600;
    }
  }
  if (v.hostPath && v.hostPath.type === undefined) v.hostPath.type = '';
  if (v.iscsi && !v.iscsi.iscsiInterface) v.iscsi.iscsiInterface = 'default';
}

/** SetDefaults_PodSpec and the defaults of everything it holds */
export function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== 'object') return;
  if (!spec.dnsPolicy) spec.dnsPolicy = 'ClusterFirst';
  if (!spec.restartPolicy) spec.restartPolicy = 'Always';
  if (spec.securityContext === undefined || spec.securityContext === null) spec.securityContext = {};
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null)
    spec.terminationGracePeriodSeconds = 30;
  if (!spec.schedulerName) spec.schedulerName = 'default-scheduler';
  if (spec.enableServiceLinks === undefined || spec.enableServiceLinks === null) spec.enableServiceLinks = true;
  // the deprecated serviceAccount field mirrors serviceAccountName
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  const hostNetwork = spec.hostNetwork === true;
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) defaultContainer(c, hostNetwork);
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) defaultContainer(c, hostNetwork);
  for (const v of Array.isArray(spec.volumes) ? spec.volumes : []) defaultVolume(v);
  if (spec.overhead && typeof spec.overhead === 'object')
    for (const k of Object.keys(spec.overhead)) spec.overhead[k] = canonicalQuantity(spec.overhead[k]);
}

/** a workload's spec.template: metadata map left as is, pod spec defaulted */
export function defaultPodTemplate(template: any): void {
  if (!template || typeof template !== 'object') return;
  if (template.spec === undefined) template.spec = {};
  defaultPodSpec(template.spec);
}

/** SetDefaults_Pod: container requests default to the limits given without requests */
export function defaultRequestsFromLimits(spec: any): void {
  const all = [
    ...(Array.isArray(spec?.initContainers) ? spec.initContainers : []),
    ...(Array.isArray(spec?.containers) ? spec.containers : []),
  ];
  for (const c of all) {
    const res = c?.resources;
    if (!res?.limits || typeof res.limits !== 'object') continue;
    res.requests ??= {};
    for (const [k, v] of Object.entries(res.limits)) if (res.requests[k] === undefined) res.requests[k] = v;
  }
}
