/**
 * The API objects the agent reads, as far as it reads them: the fields of Pods, Nodes, Services, EndpointSlices,
 * ConfigMaps and Secrets the node agent uses, with Kubernetes' names. Each extends lib/kube's KubeObject, so the
 * informers and the API client take them as they are.
 */
import type { KubeObject } from '../lib/kube/object.ts';
import type { Resource } from '../lib/kube/resources.ts';

/**
 * A served resource read through the agent's own view of its objects (the interfaces below: the fields the agent
 * uses). The generated types of lib/kube/types describe the same objects in full and will replace these views.
 */
export function asView<V extends KubeObject>(r: Resource<KubeObject>): Resource<V> {
  return r as Resource<V>;
}

// ---- Pod

export interface Pod extends KubeObject {
  spec?: PodSpec;
  status?: PodStatus;
}

export interface PodSpec {
  nodeName?: string;
  serviceAccountName?: string;
  hostname?: string;
  subdomain?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  shareProcessNamespace?: boolean;
  dnsPolicy?: 'ClusterFirst' | 'ClusterFirstWithHostNet' | 'Default' | 'None';
  dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string | null }[] };
  securityContext?: PodSecurityContext;
  terminationGracePeriodSeconds?: number;
  restartPolicy?: RestartPolicy;
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  readinessGates?: { conditionType: string }[];
  hostAliases?: { ip: string; hostnames?: string[] }[];
  enableServiceLinks?: boolean;
}

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

export interface PodSecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  fsGroup?: number;
  supplementalGroups?: number[];
  sysctls?: { name: string; value: string }[];
}

export interface PodStatus {
  phase?: string;
  conditions?: PodCondition[];
  podIP?: string;
  startTime?: string;
  containerStatuses?: ContainerStatusView[];
  initContainerStatuses?: ContainerStatusView[];
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

/** one of status.containerStatuses, as the agent writes it */
export interface ContainerStatusView {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  restartCount: number;
  ready: boolean;
  started: boolean;
  state?: ContainerStateView;
  lastState?: ContainerStateView;
}

export interface ContainerStateView {
  waiting?: { reason: string; message?: string };
  running?: { startedAt: string | null };
  terminated?: {
    exitCode: number;
    reason: string;
    message?: string;
    startedAt: string | null;
    finishedAt: string | null;
    containerID: string;
  };
}

/** requests and limits: resource name -> quantity */
export type ResourceList = Record<string, string>;

export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  ports?: ContainerPort[];
  resources?: { requests?: ResourceList; limits?: ResourceList };
  volumeMounts?: VolumeMount[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { postStart?: LifecycleHandler; preStop?: LifecycleHandler };
  terminationMessagePath?: string;
  terminationMessagePolicy?: 'File' | 'FallbackToLogsOnError';
  securityContext?: ContainerSecurityContext;
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
  /** Always on an init container: a sidecar that runs beside the app containers */
  restartPolicy?: 'Always';
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  hostIP?: string;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
}

export interface ContainerSecurityContext {
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  runAsUser?: number;
  runAsGroup?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    resourceFieldRef?: ResourceFieldRef;
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
  };
}

export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

export interface ResourceFieldRef {
  containerName?: string;
  resource: string;
  divisor?: string;
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
  mountPropagation?: 'None' | 'HostToContainer' | 'Bidirectional';
}

/** a port by number, or by the name of one of the container's ports */
export type PortRef = number | string;

export interface ExecAction {
  command?: string[];
}

export interface HttpGetAction {
  path?: string;
  port: PortRef;
  host?: string;
  scheme?: 'HTTP' | 'HTTPS';
  httpHeaders?: { name: string; value: string }[];
}

export interface TcpSocketAction {
  port: PortRef;
  host?: string;
}

/** what a probe or a lifecycle hook does: run a command, GET a URL, connect, or (hooks) sleep */
export interface Handler {
  exec?: ExecAction;
  httpGet?: HttpGetAction;
  tcpSocket?: TcpSocketAction;
  grpc?: { port: number; service?: string };
  timeoutSeconds?: number;
}

export interface Probe extends Handler {
  initialDelaySeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
}

export interface LifecycleHandler extends Handler {
  sleep?: { seconds: number };
}

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface ConfigMapVolumeSource {
  name: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

export interface SecretVolumeSource {
  secretName: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

/** a Secret as a source of a projected volume names it `name` */
export interface SecretProjection {
  name: string;
  items?: KeyToPath[];
  optional?: boolean;
}

export interface DownwardApiItem {
  path: string;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: ResourceFieldRef;
  mode?: number;
}

export interface ServiceAccountTokenProjection {
  path: string;
  audience?: string;
  expirationSeconds?: number;
}

export interface VolumeProjection {
  configMap?: ConfigMapVolumeSource;
  secret?: SecretProjection;
  downwardAPI?: { items?: DownwardApiItem[] };
  serviceAccountToken?: ServiceAccountTokenProjection;
}

export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  configMap?: ConfigMapVolumeSource;
  secret?: SecretVolumeSource;
  downwardAPI?: { items?: DownwardApiItem[]; defaultMode?: number };
  projected?: { sources?: VolumeProjection[]; defaultMode?: number };
}

// ---- ConfigMap, Secret

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
  /** base64 */
  binaryData?: Record<string, string>;
}

export interface Secret extends KubeObject {
  /** base64 */
  data?: Record<string, string>;
}

// ---- Node

export interface Node extends KubeObject {
  spec?: { podCIDR?: string; podCIDRs?: string[]; taints?: unknown[] };
  status?: { addresses?: { type: string; address: string }[]; conditions?: NodeCondition[] };
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

// ---- Service, EndpointSlice

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

export interface Service extends KubeObject {
  spec?: ServiceSpec;
}

export interface ServiceSpec {
  type?: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  clusterIP?: string;
  clusterIPs?: string[];
  externalName?: string;
  externalIPs?: string[];
  ports?: ServicePortSpec[];
  sessionAffinity?: 'None' | 'ClientIP';
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalTrafficPolicy?: 'Cluster' | 'Local';
  publishNotReadyAddresses?: boolean;
}

export interface ServicePortSpec {
  name?: string;
  protocol?: Protocol;
  port: number;
  nodePort?: number;
}

export interface EndpointSlice extends KubeObject {
  addressType?: 'IPv4' | 'IPv6' | 'FQDN';
  ports?: { name?: string; protocol?: Protocol; port?: number }[];
  endpoints?: SliceEndpoint[];
}

export interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  hostname?: string;
  nodeName?: string;
}
