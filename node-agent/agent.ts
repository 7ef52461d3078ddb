/**
 * The node agent: one per host. Wires, in start order: the container runtime (its own supervised containerd, or an
 * existing CRI socket), the images every node needs, the Node object and its Lease, pod networking for the node's pod
 * CIDR, the runtime relist, and the pod workers fed by a watch of the pods bound to this node. Stops in reverse.
 */
import { mkdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../lib/kube/api.ts';
import { isNotFound } from '../lib/kube/api.ts';
import { ApiEventRecorder } from '../lib/kube/events.ts';
import { InformerFactory, type Informer } from '../lib/kube/informer.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { ConfigMaps, EndpointSlices, Nodes, Pods, Secrets, ServiceAccounts, Services } from '../lib/kube/resources.ts';
import type { Component } from '../lib/component.ts';
import { CriClient } from './cri/client.ts';
import { ContainerdSupervisor } from './containerd/supervisor.ts';
import { registryHostsToml } from './containerd/config.ts';
import {
  buildBusyboxImage,
  buildPauseImage,
  busyboxImageName,
  busyboxShortName,
  importImage,
  PAUSE_IMAGE,
} from './images/builtin.ts';
import {
  BRIDGE,
  ensureMasquerade,
  HostGwRoutes,
  masqChain,
  removeBridge,
  removeMasquerade,
  writeCniConfig,
} from './network/cni.ts';
import { defaultNodeIP } from './node/host.ts';
import { NodeStatusReporter } from './node/node-status.ts';
import { MetricsReporter } from './metrics/reporter.ts';
import { ClusterRecords } from './dns/records.ts';
import { DnsServer } from './dns/server.ts';
import { addLocalAddress, removeLocalAddress } from './dns/local-address.ts';
import { allowLocalhostNodePorts, iptablesBackend, ServiceProxy } from './proxy/proxier.ts';
import { iptablesAvailable } from './proxy/iptables.ts';
import { UserspaceProxier } from './proxy/userspace.ts';
import { AgentServer } from './streaming/server.ts';
import type { ObjectSource } from './pods/env.ts';
import { PodManager } from './pods/pod-manager.ts';
import { RuntimeCache } from './pods/runtime-cache.ts';
import { serviceEnvironment } from './pods/service-env.ts';
import { TokenManager } from './pods/tokens.ts';
import { parseResolvConf, type NodeContext } from './pods/spec.ts';

export const KUBELET_VERSION = 'v1.33.0-skiff';

export interface NodeAgentOptions {
  client: ApiClient;
  nodeName: string;
  /** the node's address (default: the address of the default route's interface) */
  nodeIP?: string;
  /** containerd, pod folders, logs and images live here */
  dataDir: string;
  /** an existing CRI socket instead of a containerd of the agent's own */
  criSocket?: string;
  /** run the agent's containerd in this network namespace (/run/netns/NAME) */
  netns?: string;
  /** the nameservers ClusterFirst pods get (kubelet's clusterDNS) */
  clusterDNS?: string[];
  /** serve cluster DNS from this agent on the first clusterDNS address (added to the node when missing) */
  embeddedDNS?: boolean;
  /** service proxy: iptables (default; userspace where iptables does not work), userspace, or none */
  proxyMode?: 'iptables' | 'userspace' | 'none';
  clusterDomain?: string;
  clusterCIDR?: string;
  /** the node's pod CIDR when no node-ipam controller assigns one */
  podCIDR?: string;
  labels?: Record<string, string>;
  taints?: any[];
  /** stop and remove every pod when the agent stops (default: pods keep running, as with the kubelet) */
  stopPodsOnExit?: boolean;
  /** port of the agent's logs/exec server (kubelet's 10250; 0 picks a free one) */
  port?: number;
  /** registries reached over plain HTTP: name -> server URL (a hosts.toml each) */
  registries?: Record<string, string>;
  /** the node's CNI bridge (default skiff0) */
  bridge?: string;
  /** every pod cgroup goes below this one (default /skiff/<node>) */
  cgroupRoot?: string;
  /** how often the runtime is relisted (default 1 s) */
  relistMs?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: (msg: string) => void;
}

/** ConfigMaps and Secrets read from the API with a short cache: pods of one sync share a read */
class ApiObjectSource implements ObjectSource {
  private readonly cache = new Map<string, { at: number; obj: Promise<KubeObject | undefined> }>();
  private readonly tokens: TokenManager;
  constructor(private readonly client: ApiClient) {
    this.tokens = new TokenManager((ns, sa, body) =>
      this.client.create(ServiceAccounts, body, { subresource: 'token', name: sa }),
    );
  }
  serviceAccountToken(pod: KubeObject, source: { audience?: string; expirationSeconds?: number }) {
    return this.tokens.token(pod, source);
  }
  forgetPod(uid: string) {
    this.tokens.forget(uid);
  }
  private read(kind: 'cm' | 'secret', ns: string, name: string): Promise<KubeObject | undefined> {
    const key = `${kind}/${ns}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < 2000) return hit.obj;
    const obj = this.client.get<KubeObject>(kind === 'cm' ? ConfigMaps : Secrets, ns, name).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    this.cache.set(key, { at: Date.now(), obj });
    if (this.cache.size > 1000) for (const k of [...this.cache.keys()].slice(0, 500)) this.cache.delete(k);
    return obj;
  }
  configMap(ns: string, name: string) {
    return this.read('cm', ns, name);
  }
  secret(ns: string, name: string) {
    return this.read('secret', ns, name);
  }
}

export class NodeAgent implements Component {
  readonly name = 'node-agent';
  private containerd?: ContainerdSupervisor;
  private cri!: CriClient;
  private runtime!: RuntimeCache;
  private pods!: PodManager;
  private status!: NodeStatusReporter;
  private readonly factory: InformerFactory;
  private podInformer!: Informer;
  private nodeInformer!: Informer;
  private serviceInformer!: Informer;
  private routes: HostGwRoutes;
  private metrics?: MetricsReporter;
  private dns?: DnsServer;
  private proxy?: ServiceProxy;
  private streaming?: AgentServer;
  private dnsAddressAdded = false;
  private runtimeVersion = '';
  private podCIDR?: string;
  private networkError?: string = 'network plugin not ready: the node has no pod CIDR yet';
  private runtimeError?: string;
  private readonly log: (msg: string) => void;
  readonly nodeIP: string;
  private started = false;

  constructor(private readonly o: NodeAgentOptions) {
    this.log = o.log ?? ((m) => console.log(`[agent ${o.nodeName}] ${m}`));
    this.nodeIP = o.nodeIP ?? defaultNodeIP();
    this.factory = new InformerFactory(o.client);
    this.routes = new HostGwRoutes(o.nodeName, this.log);
  }

  get bridge(): string {
    return this.o.bridge ?? BRIDGE;
  }

  get criSocket(): string {
    return this.o.criSocket ?? this.containerd!.socket;
  }

  get cri_(): CriClient {
    return this.cri;
  }

  healthy(): boolean {
    return this.started && !this.runtimeError;
  }

  private dir(...p: string[]): string {
    return path.join(this.o.dataDir, ...p);
  }

  async start(): Promise<void> {
    const { o } = this;
    mkdirSync(this.dir('pods'), { recursive: true });
    // 1. runtime
    if (!o.criSocket) {
      this.containerd = new ContainerdSupervisor({
        dir: this.dir('containerd'),
        sandboxImage: PAUSE_IMAGE,
        netns: o.netns,
        log: (m) => this.log(`containerd: ${m}`),
      });
      await this.containerd.start();
      for (const [name, server] of Object.entries(o.registries ?? {})) {
        const dir = path.join(this.containerd.layout.registryConfigDir, name);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, 'hosts.toml'), registryHostsToml(server));
      }
    }
    this.cri = new CriClient(this.criSocket);
    const v = await this.cri.version().catch((e: Error) => {
      throw new Error(
        `cannot reach the container runtime's CRI socket ${this.criSocket}: ${e.message.replace(/^CRI Version: /, '')} (is containerd running there?)`,
      );
    });
    this.runtimeVersion = `${v.runtime_name}://${v.runtime_version}`;
    // 2. the images every node needs, built here from the host's packages
    await this.ensureBuiltinImages();
    // 3. the Node
    this.status = new NodeStatusReporter({
      client: o.client,
      nodeName: o.nodeName,
      nodeIP: this.nodeIP,
      dataDir: o.dataDir,
      labels: o.labels,
      taints: o.taints,
      podCIDR: o.podCIDR,
      kubeletVersion: KUBELET_VERSION,
      runtimeVersion: () => this.runtimeVersion,
      port: () => this.streaming?.port ?? 0,
      notReadyReason: () => this.runtimeError ?? this.networkError,
      images: () => this.cri.listImages(),
      log: this.log,
    });
    const node = await this.status.register();
    await this.networkFor(node);
    // 4. pods
    const hostResolv = parseResolvConf(existsSync('/etc/resolv.conf') ? readFileSync('/etc/resolv.conf', 'utf8') : '');
    const ctx: NodeContext = {
      nodeName: o.nodeName,
      nodeIP: this.nodeIP,
      podsDir: this.dir('pods'),
      cgroupRoot: o.cgroupRoot ?? `/skiff/${o.nodeName}`,
      clusterDNS: o.clusterDNS ?? [],
      clusterDomain: o.clusterDomain ?? 'cluster.local',
      hostResolv,
      memoryCapacity: Number(readFileSync('/proc/meminfo', 'utf8').match(/MemTotal:\s+(\d+)/)?.[1] ?? 0) * 1024,
    };
    this.runtime = new RuntimeCache(this.cri, o.nodeName, this.log);
    this.podInformer = this.factory.informer(Pods, { fieldSelector: `spec.nodeName=${o.nodeName}` });
    this.nodeInformer = this.factory.informer(Nodes);
    this.serviceInformer = this.factory.informer(Services);
    const slices = this.factory.informer(EndpointSlices);
    let mode = o.proxyMode ?? 'iptables';
    if (mode === 'iptables') {
      const why = await iptablesAvailable();
      if (why) {
        this.log(`service proxy: userspace mode, because ${why}`);
        mode = 'userspace';
      }
    }
    if (mode !== 'none') {
      await allowLocalhostNodePorts();
      const prefix = this.bridge === BRIDGE ? 'SKIFF' : `SK${this.bridge.slice(-6).toUpperCase()}`;
      const backend = mode === 'iptables' ? iptablesBackend(prefix, this.log) : new UserspaceProxier(this.log);
      this.proxy = new ServiceProxy({
        services: this.serviceInformer,
        slices,
        nodeName: o.nodeName,
        backend,
        log: this.log,
      });
      this.log(`service proxy: ${mode} mode`);
    }
    if (o.embeddedDNS && o.clusterDNS?.length) {
      const records = new ClusterRecords(ctx.clusterDomain);
      this.serviceInformer.addEventHandler({
        onAdd: (x: KubeObject) => records.upsertService(x),
        onUpdate: (_: KubeObject, x: KubeObject) => records.upsertService(x),
        onDelete: (x: KubeObject) => records.deleteService(x),
      });
      slices.addEventHandler({
        onAdd: (x: KubeObject) => records.upsertSlice(x),
        onUpdate: (_: KubeObject, x: KubeObject) => records.upsertSlice(x),
        onDelete: (x: KubeObject) => records.deleteSlice(x),
      });
      const address = o.clusterDNS[0];
      // an address this agent added before it was killed is still its own to remove
      const marker = this.dir('dns-address');
      const ours = existsSync(marker) && readFileSync(marker, 'utf8').trim() === address;
      this.dnsAddressAdded = (await addLocalAddress(address)) || ours;
      if (this.dnsAddressAdded) writeFileSync(marker, address + '\n');
      const upstreams = hostResolv.servers.filter((s) => !o.clusterDNS!.includes(s));
      this.dns = new DnsServer({ records, address, upstreams, log: this.log });
      await this.dns.start();
      this.log(
        `cluster DNS on ${address}:53 (zone ${ctx.clusterDomain}; other names to ${upstreams.join(', ') || 'no upstream: SERVFAIL'})`,
      );
    }
    this.pods = new PodManager({
      client: o.client,
      cri: this.cri,
      runtime: this.runtime,
      ctx,
      objects: new ApiObjectSource(o.client),
      events: new ApiEventRecorder(o.client, 'kubelet', o.nodeName),
      allocatable: () => this.status.allocatable(),
      serviceEnv: (ns) => serviceEnvironment(this.serviceInformer, ns),
      backoff: o.backoff,
      log: this.log,
    });
    this.nodeInformer.addEventHandler({
      onAdd: (n: KubeObject) => this.nodeChanged(n),
      onUpdate: (_: KubeObject, n: KubeObject) => this.nodeChanged(n),
      onDelete: () => void this.routes.sync(this.nodeInformer.list()),
    });
    this.factory.start();
    await this.runtime.relist();
    await this.factory.waitForSync();
    this.podInformer.addIndex('uid', (p) => [p.metadata.uid ?? '']);
    const known = (uid: string) => this.podInformer.byIndex('uid', uid).length > 0;
    this.podInformer.addEventHandler({
      onAdd: (p: KubeObject) => this.pods.upsert(p),
      onUpdate: (_: KubeObject, p: KubeObject) => this.pods.upsert(p),
      onDelete: (p: KubeObject) => this.pods.remove(p),
    });
    await this.pods.cleanupOrphans(known);
    this.runtime.start(o.relistMs ?? 1000, (uids) => this.pods.runtimeChanged(uids, known));
    await this.startStreaming();
    this.status.start();
    this.metrics = new MetricsReporter(
      o.client,
      this.cri,
      o.nodeName,
      (ns, name) => this.podInformer.getByName(ns, name),
      this.log,
    );
    this.metrics.start();
    this.started = true;
    this.log(`node ${o.nodeName} (${this.nodeIP}) ready: runtime ${this.runtimeVersion}, socket ${this.criSocket}`);
  }

  /** logs and exec for the API server, which proves itself with a client certificate of the cluster CA */
  private async startStreaming(): Promise<void> {
    let ca: string | undefined;
    try {
      ca = ((await this.o.client.get<KubeObject>(ConfigMaps, 'kube-system', 'kube-root-ca.crt')) as any).data?.[
        'ca.crt'
      ];
    } catch (e) {
      this.log(
        `logs and exec are off: the cluster CA (ConfigMap kube-system/kube-root-ca.crt) cannot be read: ${(e as Error).message}`,
      );
      return;
    }
    if (!ca) return;
    this.streaming = new AgentServer({
      cri: this.cri,
      runtime: this.runtime,
      pod: (ns, name) => this.podInformer.getByName(ns, name),
      clusterCaPem: ca,
      nodeName: this.o.nodeName,
      nodeIP: this.nodeIP,
      port: this.o.port ?? 10250,
      log: this.log,
    });
    try {
      await this.streaming.start();
    } catch (e) {
      this.log(`logs and exec are off: cannot listen on port ${this.o.port ?? 10250}: ${(e as Error).message}`);
      this.streaming = undefined;
      return;
    }
    await this.status.reportStatus(true);
  }

  private async ensureBuiltinImages(): Promise<void> {
    const need: [string[], (dir: string) => { file: string }][] = [
      [[PAUSE_IMAGE], buildPauseImage],
      [[busyboxImageName(), busyboxShortName()], buildBusyboxImage],
    ];
    for (const [names, build] of need) {
      const present = await Promise.all(names.map((n) => this.cri.imageStatus(n)));
      if (present.every(Boolean)) continue;
      const name = names[0];
      const t0 = Date.now();
      const built = build(this.dir('images'));
      importImage(this.criSocket, built.file);
      this.log(`image ${name} built and imported in ${Date.now() - t0} ms`);
    }
  }

  private nodeChanged(n: KubeObject): void {
    if (n.metadata.name === this.o.nodeName) {
      this.status.observe(n);
      this.networkFor(n).catch((e) => this.log(`network: ${(e as Error).message}`));
    }
    void this.routes.sync(this.nodeInformer.list());
  }

  /** Writes the CNI configuration once the node has a pod CIDR. */
  private networkFor(node: KubeObject): Promise<void> {
    const p = this.networking.then(() => this.configureNetwork(node));
    this.networking = p.catch(() => {});
    return p;
  }

  private networking: Promise<void> = Promise.resolve();

  private async configureNetwork(node: KubeObject): Promise<void> {
    const cidr: string | undefined = node.spec?.podCIDR ?? this.o.podCIDR;
    if (!cidr || cidr === this.podCIDR) return;
    writeCniConfig({
      confDir: this.containerd ? this.containerd.layout.cniConfDir : '/etc/cni/net.d',
      ipamDir: this.dir('cni', 'ipam'),
      podCIDR: cidr,
      bridge: this.bridge,
    });
    await ensureMasquerade(cidr, this.o.clusterCIDR ?? '10.244.0.0/16', masqChain(this.bridge));
    await this.cri.updatePodCidr(cidr).catch(() => {});
    this.podCIDR = cidr;
    this.networkError = undefined;
    this.log(`pod network ${cidr} configured`);
    if (this.status) await this.status.reportStatus(true).catch(() => {});
  }

  async stop(): Promise<void> {
    await this.streaming?.stop();
    this.metrics?.stop();
    this.status?.stop();
    this.runtime?.stop();
    this.factory.stop();
    await this.proxy?.stop(true);
    await this.dns?.stop();
    if (this.dnsAddressAdded) {
      await removeLocalAddress(this.o.clusterDNS![0]);
      rmSync(this.dir('dns-address'), { force: true });
    }
    const stopPods = !!this.o.stopPodsOnExit;
    await this.pods?.stop({ stopPods });
    if (stopPods) {
      await this.routes.clear();
      await removeMasquerade(masqChain(this.bridge));
      await removeBridge(this.bridge);
    }
    this.cri?.close();
    if (this.containerd) await this.containerd.stop();
  }

  /** Forgets everything without stopping pods or containerd, as a killed agent would (for tests). */
  abandon(): void {
    void this.proxy?.stop(false);
    this.metrics?.stop();
    this.status?.stop();
    this.runtime?.stop();
    this.factory.stop();
    this.containerd?.detach();
  }
}
