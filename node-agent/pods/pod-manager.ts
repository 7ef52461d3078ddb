/**
 * The pods of this node, run as the kubelet runs them: one worker per pod (worker.ts) that keeps only the newest
 * desired state and never lets an update undo a kill, moving through its phases (syncing, terminating, terminated,
 * finished). A sync of a running pod goes through its steps in order: the sandbox (with the pod cgroup), the hosts
 * file, the volumes, the init containers one by one, the app containers (restarted by policy with back-off, and on a
 * failed liveness or startup probe), then probes, pruning and the status, written back when it changed. Termination
 * is graceful (preStop, SIGTERM, grace period, SIGKILL); what the runtime holds for pods the node should not run is
 * cleaned up.
 */
import { chmodSync, mkdirSync, writeFileSync, closeSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import { Pods } from '../../lib/kube/resources.ts';
import type { CriClient } from '../cri/client.ts';
import { isCriNotFound } from '../cri/client.ts';
import type { ContainerStatus, PodSandboxConfig, PodSandboxStatus } from '../cri/types.ts';
import { asView, type Container, type LifecycleHandler, type Pod } from '../objects.ts';
import { Backoff, RESET_AFTER_RUNNING_MS } from './backoff.ts';
import { ensurePodCgroup, listPodCgroups, podLimits, removePodCgroup } from './cgroups.ts';
import { ConfigError, containerEnv, type ObjectSource } from './env.ts';
import * as L from './labels.ts';
import { ProbeManager, runProbe } from './probes.ts';
import type { RuntimeCache, RuntimePod } from './runtime-cache.ts';
import {
  containerConfig,
  containerHash,
  hostsFile,
  podCgroupParent,
  podDir,
  podLogDir,
  sandboxConfig,
  type NodeContext,
} from './spec.ts';
import { podStatus, readTerminationMessage } from './status.ts';
import { containerMounts, prepareVolumes, removePodDir } from './volumes.ts';
import { PodWorker } from './worker.ts';

export interface PodManagerOptions {
  client: ApiClient;
  cri: CriClient;
  runtime: RuntimeCache;
  ctx: NodeContext;
  objects: ObjectSource;
  events: EventRecorder;
  /** allocatable resources of the node (for resourceFieldRef defaults) */
  allocatable: () => Record<string, string>;
  /** environment variables of the Services of a namespace (enableServiceLinks) */
  serviceEnv?: (namespace: string) => Map<string, string>;
  log?: (msg: string) => void;
  /** back-off of crash loops and image pulls (tests shorten it) */
  backoff?: { initialMs: number; maxMs: number };
}

/** what the steps of one sync of a running pod share */
interface RunningSync {
  w: PodWorker;
  pod: Pod;
  /** what the runtime holds for the pod, refreshed by the steps that change it */
  rt: RuntimePod;
  sandbox: PodSandboxStatus;
  /** the pod's containers in that sandbox when the sync began */
  inSandbox: RuntimePod['containers'];
  sbConfig: PodSandboxConfig;
  podIP: string;
  /** ms until the next sync: the soonest any step asked for */
  next: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRY_MS = 2000;
/** a pod is synced at least this often even when nothing changed (kubelet's resync) */
const RESYNC_MS = 30_000;

function terminal(pod: Pod | undefined): boolean {
  const p = pod?.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

const ignoreCriNotFound = (e: unknown) => (isCriNotFound(e) ? undefined : Promise.reject(e));

function nsToMs(ns: string): number {
  return Number(BigInt(ns || '0') / 1_000_000n);
}

export class PodManager {
  private readonly work = new Map<string, PodWorker>();
  readonly probes: ProbeManager;
  private readonly crash: Backoff;
  private readonly pulls: Backoff;
  private readonly pullFailedAt = new Map<string, number>();
  private readonly log: (msg: string) => void;
  private stopped = false;

  constructor(private readonly o: PodManagerOptions) {
    this.log = o.log ?? ((m) => console.log(`[agent] ${m}`));
    this.probes = new ProbeManager(o.cri, (uid) => this.kick(uid));
    this.crash = new Backoff(o.backoff?.initialMs, o.backoff?.maxMs);
    this.pulls = new Backoff(o.backoff?.initialMs, o.backoff?.maxMs);
  }

  // ---- inputs

  /** A pod bound to this node was added or changed in the API. */
  upsert(pod: Pod): void {
    const uid = pod.metadata.uid!;
    this.workerFor(uid).update(pod);
    this.kick(uid);
  }

  /** The API no longer has the pod. */
  remove(pod: Pod): void {
    const uid = pod.metadata.uid!;
    const w = this.workerFor(uid);
    if (!w.pod) w.update(pod);
    w.remove();
    this.kick(uid);
  }

  /** The runtime changed for these pods (relist), or they are in the runtime without the API knowing them. */
  runtimeChanged(uids: Iterable<string>, known: (uid: string) => boolean): void {
    for (const uid of uids) {
      if (!this.work.has(uid) && !known(uid)) {
        this.workerFor(uid).remove();
      }
      if (this.work.has(uid)) this.kick(uid);
    }
  }

  runningPods(): number {
    let n = 0;
    for (const w of this.work.values()) if (w.phase === 'syncing') n++;
    return n;
  }

  private workerFor(uid: string): PodWorker {
    let w = this.work.get(uid);
    if (!w) {
      w = new PodWorker(uid, (x) => this.syncOrRetry(x));
      this.work.set(uid, w);
    }
    return w;
  }

  /** Asks for a sync of the pod (see PodWorker.kick). */
  kick(uid: string): void {
    if (!this.stopped) this.work.get(uid)?.kick();
  }

  private async syncOrRetry(w: PodWorker): Promise<number> {
    try {
      return await this.sync(w);
    } catch (e) {
      this.log(`pod ${this.name(w)}: ${(e as Error).message}`);
      return RETRY_MS;
    }
  }

  private name(w: PodWorker): string {
    return w.pod ? `${w.pod.metadata.namespace}/${w.pod.metadata.name}` : w.uid;
  }

  // ---- the sync of one pod; resolves with when to sync again (ms)

  private async sync(w: PodWorker): Promise<number> {
    const pod = w.pod;
    if (!pod || pod.metadata.deletionTimestamp) w.kill();
    if (!pod || w.phase !== 'syncing') return this.syncTerminating(w);
    if (terminal(pod)) return this.syncCompleted(w);
    return this.syncRunning(w, pod);
  }

  /** A pod that completed (Succeeded or Failed): its containers stay for their logs, its sandbox is stopped. */
  private async syncCompleted(w: PodWorker): Promise<number> {
    for (const s of this.o.runtime.get(w.uid).sandboxes)
      if (s.state === 'SANDBOX_READY') await this.o.cri.stopPodSandbox(s.id).catch(() => {});
    return 0;
  }

  /** A pod that should run, converged on its spec step by step. */
  private async syncRunning(w: PodWorker, pod: Pod): Promise<number> {
    const s = await this.ensureSandbox(w, pod);
    if (!s) return 0;
    this.writeHostsFile(s);
    if (!(await this.mountVolumes(s))) return RETRY_MS * 5;
    const initialized = await this.syncInitContainers(s);
    if (initialized) await this.syncAppContainers(s);
    return this.completeSync(s);
  }

  /**
   * The pod's folders and a ready sandbox: a new one (in a new attempt) when there is none. Undefined when the pod
   * finished (restartPolicy Never or OnFailure, every container done) and its sandbox stopped: its status is written.
   */
  private async ensureSandbox(w: PodWorker, pod: Pod): Promise<RunningSync | undefined> {
    const { ctx } = this.o;
    let rt = this.o.runtime.get(w.uid);
    let sandbox = rt.sandboxes[0];
    mkdirSync(podDir(ctx, pod), { recursive: true });
    mkdirSync(podLogDir(ctx, pod), { recursive: true });
    const attempt = sandbox ? Number(sandbox.metadata.attempt ?? 0) + (sandbox.state === 'SANDBOX_READY' ? 0 : 1) : 0;
    const sbConfig = sandboxConfig(pod, ctx, attempt);
    if (!sandbox || sandbox.state !== 'SANDBOX_READY') {
      if (sandbox && this.podFinished(pod, rt)) {
        await this.writeStatus(w, pod, rt);
        return undefined;
      }
      await this.runSandbox(w, pod, rt, sbConfig);
      rt = await this.o.runtime.refresh(w.uid);
      sandbox = rt.sandboxes[0];
    }
    const podIP = pod.spec?.hostNetwork ? ctx.nodeIP : (sandbox.network?.ip ?? '');
    const inSandbox = rt.containers.filter((c) => c.pod_sandbox_id === sandbox.id);
    return { w, pod, rt, sandbox, sbConfig, podIP, inSandbox, next: RESYNC_MS };
  }

  /** A new sandbox; the containers still running in the old one stop first, and the pod cgroup is created and limited. */
  private async runSandbox(w: PodWorker, pod: Pod, rt: RuntimePod, sbConfig: PodSandboxConfig): Promise<void> {
    for (const c of rt.containers) if (c.state === 'CONTAINER_RUNNING') await this.stopContainer(pod, c, 0);
    ensurePodCgroup(podCgroupParent(this.o.ctx, w.uid), podLimits(pod));
    try {
      await this.o.cri.runPodSandbox(sbConfig);
    } catch (e) {
      const msg = `Failed to create pod sandbox: ${(e as Error).message}`;
      this.o.events.event(pod, 'Warning', 'FailedCreatePodSandBox', msg);
      throw e;
    }
  }

  /** The hosts file the containers of a pod off the host network get as /etc/hosts. */
  private writeHostsFile(s: RunningSync): void {
    if (s.pod.spec?.hostNetwork) return;
    const hosts = hostsFile(s.pod, s.podIP ? [s.podIP] : [], this.o.ctx.clusterDomain);
    writeFileSync(path.join(podDir(this.o.ctx, s.pod), 'etc-hosts'), hosts);
  }

  /**
   * The pod's volumes, refreshed on every sync so ConfigMap and Secret changes reach running pods; false when one
   * cannot be set up (the pod waits, with a FailedMount event and its status written).
   */
  private async mountVolumes(s: RunningSync): Promise<boolean> {
    const { ctx } = this.o;
    const facts = { podIP: s.podIP, podIPs: s.podIP ? [s.podIP] : [], hostIP: ctx.nodeIP };
    try {
      s.w.volumes = await prepareVolumes(s.pod, podDir(ctx, s.pod), this.o.objects, facts, this.o.allocatable());
      return true;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      this.o.events.event(s.pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${e.message}`);
      await this.writeStatus(s.w, s.pod, s.rt);
      return false;
    }
  }

  /**
   * Init containers in order, one at a time: each must exit 0 (a sidecar, restartPolicy Always, must have started)
   * before the next starts. True once all are done; a failed one under restartPolicy Never fails the pod.
   */
  private async syncInitContainers(s: RunningSync): Promise<boolean> {
    const policy = s.pod.spec?.restartPolicy ?? 'Always';
    for (const c of s.pod.spec?.initContainers ?? []) {
      const cur = s.inSandbox.find((x) => x.metadata.name === c.name);
      const sidecar = c.restartPolicy === 'Always';
      if (cur?.state === 'CONTAINER_RUNNING') {
        this.ensureProbes(s.pod, c, cur, s.podIP);
        if (sidecar && this.probes.started(cur.id, !!c.startupProbe)) continue;
        return false;
      }
      if (cur?.state === 'CONTAINER_EXITED' && cur.exit_code === 0 && !sidecar) {
        s.w.waiting.delete(c.name);
        continue;
      }
      if (cur?.state === 'CONTAINER_EXITED' && policy === 'Never' && !sidecar) return false; // the pod failed
      await this.startInSync(s, c, cur, true);
      return false;
    }
    return true;
  }

  /** App containers: running ones kept or restarted, exited ones restarted as the restart policy says, missing ones started. */
  private async syncAppContainers(s: RunningSync): Promise<void> {
    const policy = s.pod.spec?.restartPolicy ?? 'Always';
    for (const c of s.pod.spec?.containers ?? []) {
      const cur = s.inSandbox.find((x) => x.metadata.name === c.name);
      if (cur?.state === 'CONTAINER_RUNNING') {
        await this.syncRunningContainer(s, c, cur);
        continue;
      }
      if (cur?.state === 'CONTAINER_EXITED') {
        const restart = policy === 'Always' || (policy === 'OnFailure' && cur.exit_code !== 0);
        if (!restart) {
          s.w.waiting.delete(c.name);
          continue;
        }
      }
      await this.startInSync(s, c, cur, false);
    }
  }

  /** A running app container keeps running, unless its definition changed or its liveness or startup probe failed. */
  private async syncRunningContainer(s: RunningSync, c: Container, cur: ContainerStatus): Promise<void> {
    const { pod } = s;
    const failed = this.probes.failed(cur.id);
    if (cur.annotations?.[L.CONTAINER_HASH] !== containerHash(c)) {
      this.o.events.event(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
    } else if (failed) {
      const what = failed.kind === 'liveness' ? 'Liveness' : 'Startup';
      this.o.events.event(pod, 'Warning', 'Unhealthy', `${what} probe failed: ${failed.message}`);
      const msg = `Container ${c.name} failed ${failed.kind} probe, will be restarted`;
      this.o.events.event(pod, 'Normal', 'Killing', msg);
    } else {
      this.ensureProbes(pod, c, cur, s.podIP);
      s.w.waiting.delete(c.name);
      return;
    }
    await this.stopContainer(pod, cur, this.gracePeriod(pod));
    s.rt = await this.o.runtime.refresh(s.w.uid);
    const stopped = s.rt.containers.find((x) => x.id === cur.id);
    await this.startInSync(s, c, stopped, false);
  }

  /** Starts a container in the sync's sandbox (see startWithBackoff); the sync comes back by its retry at the latest. */
  private async startInSync(
    s: RunningSync,
    c: Container,
    cur: ContainerStatus | undefined,
    isInit: boolean,
  ): Promise<void> {
    const wait = await this.startWithBackoff(s.w, s.pod, c, cur, s.rt, s.sandbox.id, s.sbConfig, isInit);
    if (wait > 0) s.next = Math.min(s.next, wait);
  }

  /**
   * The end of a sync: probes kept only for running containers, old attempts pruned, the status written. A pod that
   * finished has its sandbox stopped and is not synced again until something changes.
   */
  private async completeSync(s: RunningSync): Promise<number> {
    const rt = await this.o.runtime.refresh(s.w.uid);
    this.probes.retain(s.w.uid, new Set(rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.id)));
    await this.pruneDeadContainers(rt);
    await this.writeStatus(s.w, s.pod, rt);
    if (!this.podFinished(s.pod, rt)) return s.next;
    for (const sb of rt.sandboxes)
      if (sb.state === 'SANDBOX_READY') await this.o.cri.stopPodSandbox(sb.id).catch(() => {});
    return 0;
  }

  /** restartPolicy Never/OnFailure pods whose containers all finished for good */
  private podFinished(pod: Pod, rt: RuntimePod): boolean {
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Always') return false;
    const sandbox = rt.sandboxes[0];
    if (!sandbox) return false;
    const inSandbox = rt.containers.filter((c) => c.pod_sandbox_id === sandbox.id);
    if (policy === 'Never') {
      const initFailed = (pod.spec?.initContainers ?? []).some((c) =>
        inSandbox.find((x) => x.metadata.name === c.name && x.state === 'CONTAINER_EXITED' && x.exit_code !== 0),
      );
      if (initFailed) return true;
    }
    return (pod.spec?.containers ?? []).every((c) => {
      const cur = inSandbox.find((x) => x.metadata.name === c.name);
      if (!cur || cur.state !== 'CONTAINER_EXITED') return false;
      return policy === 'Never' || cur.exit_code === 0;
    });
  }

  private gracePeriod(pod: Pod): number {
    return Number(pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
  }

  private ensureProbes(pod: Pod, c: Container, cur: ContainerStatus, podIP: string): void {
    if (c.livenessProbe || c.readinessProbe || c.startupProbe)
      this.probes.ensure(pod.metadata.uid!, c, cur.id, podIP, nsToMs(cur.started_at) || Date.now());
  }

  /**
   * Starts a container (a new attempt) unless its crash back-off is in force; returns the ms until the next try
   * when it waits, else 0.
   */
  private async startWithBackoff(
    w: PodWorker,
    pod: Pod,
    c: Container,
    cur: ContainerStatus | undefined,
    rt: RuntimePod,
    sandboxId: string,
    sbConfig: PodSandboxConfig,
    isInit: boolean,
  ): Promise<number> {
    const key = `${w.uid}/${c.name}`;
    const previous = rt.containers.filter((x) => x.metadata.name === c.name);
    const restartCount = previous.length ? Number(previous[0].annotations?.[L.RESTART_COUNT] ?? 0) + 1 : 0;
    if (cur?.state === 'CONTAINER_EXITED') {
      const finished = nsToMs(cur.finished_at);
      if (finished - nsToMs(cur.started_at) >= RESET_AFTER_RUNNING_MS) this.crash.reset(key);
      const left = this.crash.remaining(key, finished);
      if (left > 0) {
        const delay = Math.round(this.crash.current(key) / 1000);
        w.waiting.set(c.name, {
          reason: 'CrashLoopBackOff',
          message: `back-off ${delay}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        });
        this.o.events.event(
          pod,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${c.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
        );
        return left + 50;
      }
      this.crash.next(key);
    }
    if (cur?.state === 'CONTAINER_CREATED') {
      await this.o.cri.removeContainer(cur.id).catch(() => {});
    }
    return this.startContainer(w, pod, c, restartCount, sandboxId, sbConfig, isInit);
  }

  private async pullIfNeeded(w: PodWorker, pod: Pod, c: Container): Promise<number> {
    const { cri } = this.o;
    const image: string = c.image;
    const policy =
      c.imagePullPolicy ?? (image.endsWith(':latest') || !/:[^/]+$/.test(image) ? 'Always' : 'IfNotPresent');
    const present = await cri.imageStatus(image).catch(() => null);
    if (present && policy !== 'Always') {
      this.o.events.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      return 0;
    }
    if (policy === 'Never') {
      w.waiting.set(c.name, {
        reason: 'ErrImageNeverPull',
        message: `Container image "${image}" is not present with pull policy of Never`,
      });
      this.o.events.event(
        pod,
        'Warning',
        'ErrImageNeverPull',
        `Container image "${image}" is not present with pull policy of Never`,
      );
      return -1;
    }
    const key = `${w.uid}/${image}`;
    const left = this.pulls.remaining(key, this.pullFailedAt.get(key) ?? 0);
    if (left > 0) {
      const prev = w.waiting.get(c.name);
      w.waiting.set(c.name, {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${image}"${prev?.message ? `: ${prev.message.replace(/^Back-off pulling image "[^"]*": /, '')}` : ''}`,
      });
      this.o.events.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      return left + 50;
    }
    this.o.events.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = Date.now();
    try {
      await cri.pullImage(image);
    } catch (e) {
      const detail = (e as Error).message.replace(/^CRI PullImage: /, '');
      const msg = detail.startsWith('failed to pull')
        ? detail
        : `failed to pull and unpack image "${image}": ${detail}`;
      this.pulls.next(key);
      this.pullFailedAt.set(key, Date.now());
      w.waiting.set(c.name, { reason: 'ErrImagePull', message: msg });
      this.o.events.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${msg}`);
      this.o.events.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
      return this.pulls.remaining(key, Date.now()) + 50;
    }
    this.pulls.reset(key);
    this.pullFailedAt.delete(key);
    this.o.events.event(
      pod,
      'Normal',
      'Pulled',
      `Successfully pulled image "${image}" in ${((Date.now() - t0) / 1000).toFixed(3)}s`,
    );
    return 0;
  }

  private async startContainer(
    w: PodWorker,
    pod: Pod,
    c: Container,
    restartCount: number,
    sandboxId: string,
    sbConfig: PodSandboxConfig,
    isInit: boolean,
  ): Promise<number> {
    const { cri, ctx } = this.o;
    const wait = await this.pullIfNeeded(w, pod, c);
    if (wait !== 0) return Math.max(wait, 0) || 10_000;
    const rt = this.o.runtime.get(w.uid);
    const podIP = pod.spec?.hostNetwork ? ctx.nodeIP : (rt.sandboxes[0]?.network?.ip ?? '');
    let envs;
    try {
      const serviceEnv =
        pod.spec?.enableServiceLinks === false ? undefined : this.o.serviceEnv?.(pod.metadata.namespace!);
      envs = await containerEnv(
        pod,
        c,
        this.o.objects,
        { podIP, podIPs: podIP ? [podIP] : [], hostIP: ctx.nodeIP },
        this.o.allocatable(),
        serviceEnv,
      );
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      w.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
      this.o.events.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      return RETRY_MS * 5;
    }
    const dir = podDir(ctx, pod);
    const termDir = path.join(dir, 'containers', c.name);
    mkdirSync(termDir, { recursive: true });
    const termFile = path.join(termDir, String(restartCount));
    closeSync(openSync(termFile, 'w'));
    chmodSync(termFile, 0o666); // writable whatever user the container runs as
    let mounts;
    try {
      mounts = containerMounts(c, w.volumes ?? new Map(), {
        hostsFile: pod.spec?.hostNetwork ? undefined : path.join(dir, 'etc-hosts'),
        terminationLog: termFile,
      });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      w.waiting.set(c.name, { reason: 'CreateContainerConfigError', message: e.message });
      this.o.events.event(pod, 'Warning', 'Failed', `Error: ${e.message}`);
      return RETRY_MS * 5;
    }
    const config = containerConfig(pod, c, ctx, { envs, mounts, restartCount, isInit });
    let id: string;
    try {
      id = await cri.createContainer(sandboxId, config, sbConfig);
    } catch (e) {
      w.waiting.set(c.name, { reason: 'CreateContainerError', message: (e as Error).message });
      this.o.events.event(pod, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      return RETRY_MS * 5;
    }
    this.o.events.event(pod, 'Normal', 'Created', `Created container ${c.name}`);
    try {
      await cri.startContainer(id);
    } catch (e) {
      w.waiting.set(c.name, { reason: 'RunContainerError', message: (e as Error).message });
      this.o.events.event(pod, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      return RETRY_MS;
    }
    w.waiting.delete(c.name);
    this.o.events.event(pod, 'Normal', 'Started', `Started container ${c.name}`);
    const postStart = c.lifecycle?.postStart;
    if (postStart) {
      const r = await this.runHandler(postStart, id, c, podIP, 30);
      if (!r.ok) {
        this.o.events.event(pod, 'Warning', 'FailedPostStartHook', `PostStartHook failed: ${r.message}`);
        await cri.stopContainer(id, this.gracePeriod(pod)).catch(() => {});
      }
    }
    return 0;
  }

  private async runHandler(
    h: LifecycleHandler,
    containerId: string,
    c: Container,
    podIP: string,
    timeoutSeconds: number,
  ): Promise<{ ok: boolean; message: string }> {
    if (h.sleep) {
      await sleep(Math.min(timeoutSeconds, h.sleep.seconds ?? 0) * 1000);
      return { ok: true, message: '' };
    }
    return runProbe(this.o.cri, { ...h, timeoutSeconds }, containerId, c, podIP);
  }

  /** preStop hook, then SIGTERM, then SIGKILL after what is left of the grace period */
  private async stopContainer(pod: Pod | undefined, cs: ContainerStatus, graceSeconds: number): Promise<void> {
    const t0 = Date.now();
    const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find(
      (c) => c.name === cs.metadata.name,
    );
    const preStop = spec?.lifecycle?.preStop;
    if (preStop && graceSeconds > 0 && cs.state === 'CONTAINER_RUNNING') {
      const podIP = this.o.runtime.get(pod!.metadata.uid!).sandboxes[0]?.network?.ip ?? '';
      const r = await this.runHandler(
        preStop,
        cs.id,
        spec,
        pod?.spec?.hostNetwork ? this.o.ctx.nodeIP : podIP,
        graceSeconds,
      );
      if (!r.ok && pod) this.o.events.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${r.message}`);
    }
    const left = Math.max(graceSeconds > 0 ? 2 : 0, graceSeconds - Math.floor((Date.now() - t0) / 1000));
    this.probes.removeContainer(cs.id);
    try {
      await this.o.cri.stopContainer(cs.id, left);
    } catch (e) {
      if (!isCriNotFound(e)) throw e;
    }
  }

  /** keeps the newest two attempts of each container (the current one and "previous" for logs) */
  private async pruneDeadContainers(rt: RuntimePod): Promise<void> {
    const seen = new Map<string, number>();
    for (const c of rt.containers) {
      const n = (seen.get(c.metadata.name) ?? 0) + 1;
      seen.set(c.metadata.name, n);
      if (n > 2 && c.state === 'CONTAINER_EXITED') await this.o.cri.removeContainer(c.id).catch(() => {});
    }
    for (const s of rt.sandboxes.slice(1)) {
      if (!rt.containers.some((c) => c.pod_sandbox_id === s.id)) {
        await this.o.cri.stopPodSandbox(s.id).catch(() => {});
        await this.o.cri.removePodSandbox(s.id).catch(() => {});
      }
    }
  }

  // ---- termination: terminating -> terminated -> finished, then the cleanup once the API no longer has the pod

  private async syncTerminating(w: PodWorker): Promise<number> {
    let rt = await this.o.runtime.refresh(w.uid);
    const pod = w.pod;
    if (w.phase === 'terminating') {
      await this.killPod(w, rt);
      w.moveTo('terminated');
      rt = await this.o.runtime.refresh(w.uid);
    }
    if (pod && !w.removed && pod.metadata.deletionTimestamp && w.phase === 'terminated') {
      await this.confirmDeletion(w, pod, rt);
      w.moveTo('finished');
      return 0; // the informer's delete completes the cleanup
    }
    if (!w.removed && pod && !pod.metadata.deletionTimestamp) return 0;
    return this.cleanup(w, rt);
  }

  /** Stops every container with the pod's grace period (preStop hooks first), then its sandboxes and probes. */
  private async killPod(w: PodWorker, rt: RuntimePod): Promise<void> {
    const pod = w.pod;
    // a pod known only from the runtime has the grace period its sandbox was created with
    const grace = pod ? this.gracePeriod(pod) : Number(rt.sandboxes[0]?.annotations?.[L.TERMINATION_GRACE_PERIOD] ?? 2);
    if (pod && !w.removed) {
      const names = (pod.spec?.containers ?? []).map((c) => c.name).join(', ');
      this.o.events.event(pod, 'Normal', 'Killing', `Stopping container ${names}`);
    }
    await Promise.all(
      rt.containers
        .filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED')
        .map((c) => this.stopContainer(pod, c, grace)),
    );
    for (const s of rt.sandboxes) await this.o.cri.stopPodSandbox(s.id).catch(ignoreCriNotFound);
    this.probes.removePod(w.uid);
  }

  /** The final status, then the deletion with grace 0: the API removes the pod, and its watch says so. */
  private async confirmDeletion(w: PodWorker, pod: Pod, rt: RuntimePod): Promise<void> {
    await this.writeStatus(w, pod, rt, true);
    try {
      await this.o.client.delete(Pods, pod.metadata.namespace, pod.metadata.name!, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (e) {
      // an API answer (gone already, or another uid by now) settles it; only a failure to reach the API is retried
      if (!isNotFound(e) && !(e as { code?: unknown }).code) throw e;
    }
  }

  /** The API no longer has the pod: everything the node holds for it goes, then the worker. */
  private async cleanup(w: PodWorker, rt: RuntimePod): Promise<number> {
    const { cri, ctx } = this.o;
    for (const c of rt.containers) await cri.removeContainer(c.id).catch(ignoreCriNotFound);
    for (const s of rt.sandboxes) await cri.removePodSandbox(s.id).catch(ignoreCriNotFound);
    await this.o.runtime.refresh(w.uid);
    if (!removePodCgroup(podCgroupParent(ctx, w.uid))) {
      this.log(`pod ${this.name(w)}: its cgroup is still in use; trying again`);
      return RETRY_MS;
    }
    removePodDir(path.join(ctx.podsDir, w.uid));
    this.o.objects.forgetPod?.(w.uid);
    if (w.pod) rmSync(podLogDir(ctx, w.pod), { recursive: true, force: true });
    this.crash.forget(`${w.uid}/`);
    this.pulls.forget(`${w.uid}/`);
    for (const k of [...this.pullFailedAt.keys()]) if (k.startsWith(`${w.uid}/`)) this.pullFailedAt.delete(k);
    w.close();
    this.work.delete(w.uid);
    return 0;
  }

  // ---- status

  private async writeStatus(w: PodWorker, pod: Pod, rt: RuntimePod, terminating = false): Promise<void> {
    const ctx = this.o.ctx;
    const status = podStatus({
      pod,
      runtime: rt,
      nodeIP: ctx.nodeIP,
      waiting: w.waiting,
      probes: this.probes,
      terminating: terminating || w.phase !== 'syncing',
      startTime: w.startTime,
      terminationMessage: (cs) =>
        readTerminationMessage(
          cs,
          path.join(podDir(ctx, pod), 'containers', cs.metadata.name, String(cs.annotations?.[L.RESTART_COUNT] ?? 0)),
        ),
    });
    const json = JSON.stringify(status);
    if (json === w.lastStatus) return;
    try {
      const updated = await this.o.client.patch(
        asView<Pod>(Pods),
        pod.metadata.namespace,
        pod.metadata.name!,
        { metadata: { uid: pod.metadata.uid }, status },
        'strategic',
        { subresource: 'status' },
      );
      w.lastStatus = json;
      if (updated?.metadata?.uid === pod.metadata.uid && w.pod === pod) w.update(updated);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
  }

  /** The runtime's leftovers at start: sandboxes of pods the API does not bind here are stopped and removed. */
  async cleanupOrphans(known: (uid: string) => boolean): Promise<void> {
    const uids = [...this.o.runtime.uids()].filter((u) => !known(u) && !this.work.has(u));
    if (uids.length) this.log(`removing ${uids.length} pod(s) the API no longer binds to this node`);
    this.runtimeChanged(uids, known);
    const inRuntime = new Set(this.o.runtime.uids());
    for (const uid of listPodCgroups(this.o.ctx.cgroupRoot)) {
      if (!known(uid) && !inRuntime.has(uid)) removePodCgroup(podCgroupParent(this.o.ctx, uid));
    }
  }

  /**
   * Stops the workers; with `stopPods`, also every pod of the node: containers get SIGTERM and at most
   * `graceSeconds` (or their own shorter grace period), all at once, then sandboxes, cgroups and pod folders go.
   */
  async stop(opts: { stopPods: boolean; graceSeconds?: number }): Promise<void> {
    this.stopped = true;
    this.probes.stop();
    for (const w of this.work.values()) w.close();
    if (!opts.stopPods) return;
    const cap = opts.graceSeconds ?? 5;
    const sweep = async () => {
      await this.o.runtime.relist().catch(() => undefined);
      await Promise.all(
        [...this.o.runtime.uids()].map(async (uid) => {
          const w = this.work.get(uid);
          const rt = this.o.runtime.get(uid);
          const grace = Math.min(cap, w?.pod ? this.gracePeriod(w.pod) : cap);
          await Promise.all(
            rt.containers
              .filter((c) => c.state === 'CONTAINER_RUNNING')
              .map((c) => this.o.cri.stopContainer(c.id, grace).catch(() => {})),
          );
          for (const c of rt.containers) await this.o.cri.removeContainer(c.id).catch(() => {});
          for (const sb of rt.sandboxes) {
            await this.o.cri.stopPodSandbox(sb.id).catch(() => {});
            await this.o.cri.removePodSandbox(sb.id).catch(() => {});
          }
          removePodCgroup(podCgroupParent(this.o.ctx, uid));
          removePodDir(path.join(this.o.ctx.podsDir, uid));
        }),
      );
    };
    await sweep();
    // pod cgroups left by pods that never got a sandbox
    for (const uid of listPodCgroups(this.o.ctx.cgroupRoot)) removePodCgroup(podCgroupParent(this.o.ctx, uid));
    // a worker that was inside a CRI call may have created something since: wait for them briefly, sweep again
    const deadline = Date.now() + 3000;
    while ([...this.work.values()].some((w) => w.syncing) && Date.now() < deadline) await sleep(50);
    await sweep();
    removePodCgroup(this.o.ctx.cgroupRoot);
  }
}
