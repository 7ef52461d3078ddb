/**
 * Pod spec -> CRI configuration: the sandbox (hostname, DNS, port mappings, namespaces, cgroup parent, labels) and
 * each container (image, command, env, mounts, resources, security context), with kubelet's conversions.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Container, Pod } from '../objects.ts';
import type { ContainerConfig, LinuxContainerResources, Mount, PodSandboxConfig, PortMapping } from '../cri/types.ts';
import * as L from './labels.ts';
import { bytes, milliCpu } from './quantity.ts';

export interface ResolvConf {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface NodeContext {
  nodeName: string;
  nodeIP: string;
  /** folder of pod data: logs, volumes, hosts files */
  podsDir: string;
  /** cgroup path every pod cgroup goes under, e.g. /skiff */
  cgroupRoot: string;
  /** kubelet's clusterDNS: the nameservers of ClusterFirst pods (empty: the host's resolvers are used) */
  clusterDNS: string[];
  clusterDomain: string;
  hostResolv: ResolvConf;
  memoryCapacity: number;
}

export function podDir(ctx: NodeContext, pod: Pod): string {
  return path.join(ctx.podsDir, pod.metadata.uid!);
}

export function podLogDir(ctx: NodeContext, pod: Pod): string {
  return path.join(ctx.podsDir, 'logs', `${pod.metadata.namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
}

export function podCgroupParent(ctx: NodeContext, uid: string): string {
  return `${ctx.cgroupRoot}/pod${uid}`;
}

/** The pod's hostname: spec.hostname or its name, at most 63 characters, without a trailing '-' or '.' */
export function podHostname(pod: Pod): string {
  let h = pod.spec?.hostname || pod.metadata.name!;
  if (h.length > 63) h = h.slice(0, 63).replace(/[-.]+$/, '');
  return h;
}

export function podFqdn(pod: Pod, clusterDomain: string): string | undefined {
  const sub = pod.spec?.subdomain;
  if (!sub) return undefined;
  return `${podHostname(pod)}.${sub}.${pod.metadata.namespace}.svc.${clusterDomain}`;
}

export function parseResolvConf(text: string): ResolvConf {
  const r: ResolvConf = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) r.servers.push(vals[0]);
    else if (key === 'search' || key === 'domain') r.searches = vals;
    else if (key === 'options') r.options.push(...vals);
  }
  return r;
}

function mergeOptions(base: string[], extra: { name: string; value?: string | null }[]): string[] {
  const byName = new Map<string, string>();
  for (const o of base) byName.set(o.split(':')[0], o);
  for (const o of extra)
    byName.set(o.name, o.value !== undefined && o.value !== null ? `${o.name}:${o.value}` : o.name);
  return [...byName.values()];
}

/** DNS of the sandbox by dnsPolicy (ClusterFirst, ClusterFirstWithHostNet, Default, None) merged with spec.dnsConfig */
export function podDnsConfig(pod: Pod, ctx: NodeContext): ResolvConf {
  const policy = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const hostNet = !!pod.spec?.hostNetwork;
  let base: ResolvConf;
  const cluster = (policy === 'ClusterFirst' && !hostNet) || policy === 'ClusterFirstWithHostNet';
  if (policy === 'None') base = { servers: [], searches: [], options: [] };
  else if (cluster && ctx.clusterDNS.length > 0) {
    const d = ctx.clusterDomain;
    const searches = [`${pod.metadata.namespace}.svc.${d}`, `svc.${d}`, d, ...ctx.hostResolv.searches];
    base = { servers: [...ctx.clusterDNS], searches, options: ['ndots:5'] };
  } else
    base = {
      servers: [...ctx.hostResolv.servers],
      searches: [...ctx.hostResolv.searches],
      options: [...ctx.hostResolv.options],
    };
  const dc = pod.spec?.dnsConfig;
  if (dc) {
    base.servers.push(...(dc.nameservers ?? []));
    for (const s of dc.searches ?? []) if (!base.searches.includes(s)) base.searches.push(s);
    base.options = mergeOptions(base.options, dc.options ?? []);
  }
  // glibc's limits: 3 nameservers, 32 search domains
  base.servers = [...new Set(base.servers)].slice(0, 3);
  base.searches = base.searches.slice(0, 32);
  return base;
}

export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({
        protocol: p.protocol ?? 'TCP',
        container_port: p.containerPort,
        host_port: p.hostPort,
        host_ip: p.hostIP ?? '',
      });
    }
  }
  return out;
}

function anyPrivileged(pod: Pod): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some(
    (c) => c.securityContext?.privileged,
  );
}

export function sandboxLabels(pod: Pod, nodeName: string): Record<string, string> {
  return {
    ...(pod.metadata.labels ?? {}),
    [L.POD_NAME]: pod.metadata.name!,
    [L.POD_NAMESPACE]: pod.metadata.namespace!,
    [L.POD_UID]: pod.metadata.uid!,
    [L.MANAGED_BY_NODE]: nodeName,
    [L.CONTAINER_TYPE]: 'podsandbox',
  };
}

export function sandboxConfig(pod: Pod, ctx: NodeContext, attempt: number): PodSandboxConfig {
  const spec = pod.spec ?? {};
  const dns = podDnsConfig(pod, ctx);
  const sc = spec.securityContext ?? {};
  return {
    metadata: { name: pod.metadata.name!, uid: pod.metadata.uid!, namespace: pod.metadata.namespace!, attempt },
    hostname: spec.hostNetwork ? '' : podHostname(pod),
    log_directory: podLogDir(ctx, pod),
    dns_config: { servers: dns.servers, searches: dns.searches, options: dns.options },
    port_mappings: portMappings(pod),
    labels: sandboxLabels(pod, ctx.nodeName),
    annotations: {
      ...(pod.metadata.annotations ?? {}),
      [L.TERMINATION_GRACE_PERIOD]: String(spec.terminationGracePeriodSeconds ?? 30),
    },
    linux: {
      cgroup_parent: podCgroupParent(ctx, pod.metadata.uid!),
      security_context: {
        namespace_options: {
          network: spec.hostNetwork ? 'NODE' : 'POD',
          pid: spec.hostPID ? 'NODE' : spec.shareProcessNamespace ? 'POD' : 'CONTAINER',
          ipc: spec.hostIPC ? 'NODE' : 'POD',
        },
        ...(sc.runAsUser !== undefined ? { run_as_user: { value: sc.runAsUser } } : {}),
        ...(sc.runAsGroup !== undefined ? { run_as_group: { value: sc.runAsGroup } } : {}),
        supplemental_groups: [...(sc.fsGroup !== undefined ? [sc.fsGroup] : []), ...(sc.supplementalGroups ?? [])],
        privileged: anyPrivileged(pod),
      },
      sysctls: Object.fromEntries((sc.sysctls ?? []).map((s) => [s.name, s.value])),
    },
  };
}

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** Kubernetes' QoS class of a pod (requests defaulted from limits by the API server). */
export function qosClass(pod: Pod): QosClass {
  const cs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  let any = false;
  let guaranteed = true;
  for (const c of cs) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of ['cpu', 'memory']) {
      if (req[r] !== undefined || lim[r] !== undefined) any = true;
      if (
        lim[r] === undefined ||
        (req[r] !== undefined &&
          String(req[r]) !== String(lim[r]) &&
          milliCpu(String(req[r])) !== milliCpu(String(lim[r])))
      )
        guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

export const CPU_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA_US = 1000;

export function cpuShares(milli: number): number {
  return milli === 0 ? MIN_SHARES : Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000));
}

export function cpuQuota(milliLimit: number): number {
  return milliLimit === 0 ? 0 : Math.max(MIN_QUOTA_US, Math.floor((milliLimit * CPU_PERIOD_US) / 1000));
}

export function containerResources(pod: Pod, c: Container, memoryCapacity: number): LinuxContainerResources {
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  const reqCpu = milliCpu(req.cpu ?? lim.cpu);
  const limCpu = milliCpu(lim.cpu);
  const qos = qosClass(pod);
  let oom: number;
  if (qos === 'Guaranteed') oom = -997;
  else if (qos === 'BestEffort') oom = 1000;
  else {
    const memReq = bytes(req.memory);
    oom = 1000 - Math.floor((1000 * memReq) / Math.max(1, memoryCapacity));
    oom = Math.min(999, Math.max(2, oom));
  }
  return {
    cpu_period: limCpu ? CPU_PERIOD_US : 0,
    cpu_quota: cpuQuota(limCpu),
    cpu_shares: cpuShares(reqCpu),
    memory_limit_in_bytes: bytes(lim.memory),
    oom_score_adj: oom,
  };
}

/** What, when it changes, makes the kubelet restart a container: a hash of the container's spec. */
export function containerHash(c: Container): string {
  const { resources: _ignored, ...rest } = c ?? {};
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex').slice(0, 16);
}

export interface ContainerInputs {
  envs: { key: string; value: string }[];
  mounts: Mount[];
  restartCount: number;
  isInit: boolean;
}

export function containerLogPath(c: Container, restartCount: number): string {
  return path.join(c.name, `${restartCount}.log`);
}

export function containerConfig(pod: Pod, c: Container, ctx: NodeContext, inputs: ContainerInputs): ContainerConfig {
  const psc = pod.spec?.securityContext ?? {};
  const sc = c.securityContext ?? {};
  const runAsUser = sc.runAsUser ?? psc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? psc.runAsGroup;
  return {
    metadata: { name: c.name, attempt: inputs.restartCount },
    image: { image: c.image, user_specified_image: c.image },
    command: c.command ?? [],
    args: c.args ?? [],
    working_dir: c.workingDir ?? '',
    envs: inputs.envs,
    mounts: inputs.mounts,
    labels: {
      [L.POD_NAME]: pod.metadata.name!,
      [L.POD_NAMESPACE]: pod.metadata.namespace!,
      [L.POD_UID]: pod.metadata.uid!,
      [L.CONTAINER_NAME]: c.name,
      [L.MANAGED_BY_NODE]: ctx.nodeName,
      [L.CONTAINER_TYPE]: 'container',
    },
    annotations: {
      [L.CONTAINER_HASH]: containerHash(c),
      [L.RESTART_COUNT]: String(inputs.restartCount),
      [L.TERMINATION_MESSAGE_PATH]: c.terminationMessagePath ?? '/dev/termination-log',
      [L.TERMINATION_MESSAGE_POLICY]: c.terminationMessagePolicy ?? 'File',
      [L.TERMINATION_GRACE_PERIOD]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
      ...(inputs.isInit ? { [L.INIT_CONTAINER]: 'true' } : {}),
    },
    log_path: containerLogPath(c, inputs.restartCount),
    stdin: !!c.stdin,
    stdin_once: !!c.stdinOnce,
    tty: !!c.tty,
    linux: {
      resources: containerResources(pod, c, ctx.memoryCapacity),
      security_context: {
        privileged: !!sc.privileged,
        capabilities: { add_capabilities: sc.capabilities?.add ?? [], drop_capabilities: sc.capabilities?.drop ?? [] },
        namespace_options: {
          network: pod.spec?.hostNetwork ? 'NODE' : 'POD',
          pid: pod.spec?.hostPID ? 'NODE' : pod.spec?.shareProcessNamespace ? 'POD' : 'CONTAINER',
          ipc: pod.spec?.hostIPC ? 'NODE' : 'POD',
        },
        ...(runAsUser !== undefined ? { run_as_user: { value: runAsUser } } : {}),
        ...(runAsGroup !== undefined ? { run_as_group: { value: runAsGroup } } : {}),
        readonly_rootfs: !!sc.readOnlyRootFilesystem,
        supplemental_groups: [...(psc.fsGroup !== undefined ? [psc.fsGroup] : []), ...(psc.supplementalGroups ?? [])],
        no_new_privs: sc.allowPrivilegeEscalation === false,
      },
    },
  };
}

/** The hosts file the agent mounts at /etc/hosts of every container of a pod not on the host network. */
export function hostsFile(pod: Pod, podIPs: string[], clusterDomain: string): string {
  const lines = [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
  ];
  const host = podHostname(pod);
  const fqdn = podFqdn(pod, clusterDomain);
  for (const ip of podIPs) lines.push(fqdn ? `${ip}\t${fqdn}\t${host}` : `${ip}\t${host}`);
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length) {
    lines.push('', '# Entries added by HostAliases.');
    for (const a of aliases) lines.push(`${a.ip}\t${(a.hostnames ?? []).join('\t')}`);
  }
  return lines.join('\n') + '\n';
}
