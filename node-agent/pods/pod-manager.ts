/**
 * The pods of this node, run as the kubelet runs them: one worker per pod that keeps only the newest desired state and
 * never lets an update undo a kill; a sync that converges the runtime on the spec in order (pod cgroup, sandbox,
 * volumes, init containers one by one, then the app containers, restarting by policy with back-off, probes); graceful
 * termination (preStop, SIGTERM, grace period, SIGKILL); the status written back when it changed; and the cleanup of
 * what the runtime holds for pods the node should not run.
 */
import { chmodSync, mkdirSync, writeFileSync, closeSync, openSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import type { EventRecorder } from '../../lib/kube/events.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Pods } from '../../lib/kube/resources.ts';
import type { CriClient } from '../cri/client.ts';
import { isCriNotFound } from '../cri/client.ts';
import type { ContainerStatus, PodSandboxConfig } from '../cri/types.ts';
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
import { podStatus, readTerminationMessage, type Waiting } from './status.ts';
import { rfc3339 } from '../../lib/time.ts';
import { containerMounts, prepareVolumes, removePodDir, type PreparedVolume } from './volumes.ts';

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

interface PodWork {
  uid: string;
  /** newest desired state from the API (undefined: the API no longer has the pod) */
  pod?: KubeObject;
  removed: boolean;
  busy: boolean;
  again: boolean;
  timer?: NodeJS.Timeout;
  /** set once the pod must stop: never cleared (a kill is not undone by an update) */
  terminating: boolean;
  /** containers and sandbox stopped */
  killed: boolean;
  /** the final status was written and the deletion confirmed */
  finished: boolean;
  startTime: string;
  waiting: Map<string, Waiting>;
  lastStatus?: string;
  volumes?: Map<string, PreparedVolume>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RETRY_MS = 2000;
/** a pod is synced at least this often even when nothing changed (kubelet's resync) */
const RESYNC_MS = 30_000;

function terminal(pod: KubeObject | undefined): boolean {
  const p = pod?.status?.phase;
  return p === 'Succeeded' || p === 'Failed';
}

function nsToMs(ns: string): number {
  return Number(BigInt(ns || '0') / 1_000_000n);
}

export class PodManager {
  private readonly work = new Map<string, PodWork>();
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
  upsert(pod: KubeObject): void {
    const uid = pod.metadata.uid!;
    const w = this.workFor(uid);
    w.pod = pod;
    this.kick(uid);
  }

  /** The API no longer has the pod. */
  remove(pod: KubeObject): void {
    const uid = pod.metadata.uid!;
    const w = this.workFor(uid);
    w.pod = w.pod ?? pod;
    w.removed = true;
    w.terminating = true;
    this.kick(uid);
  }

  /** The runtime changed for these pods (relist), or they are in the runtime without the API knowing them. */
  runtimeChanged(uids: Iterable<string>, known: (uid: string) => boolean): void {
    for (const uid of uids) {
      if (!this.work.has(uid) && !known(uid)) {
        const w = this.workFor(uid);
        w.removed = true;
        w.terminating = true;
      }
      if (this.work.has(uid)) this.kick(uid);
    }
  }

  runningPods(): number {
    let n = 0;
    for (const w of this.work.values()) if (!w.terminating) n++;
    return n;
  }

  private workFor(uid: string): PodWork {
    let w = this.work.get(uid);
    if (!w) {
      w = {
        uid,
        removed: false,
        busy: false,
        again: false,
        terminating: false,
        killed: false,
        finished: false,
        startTime: rfc3339(new Date()),
        waiting: new Map(),
      };
      this.work.set(uid, w);
    }
    return w;
  }

  /** Asks for a sync of the pod; syncs of one pod never overlap, and bursts collapse into one. */
  kick(uid: string, afterMs = 0): void {
    const w = this.work.get(uid);
    if (!w || this.stopped) return;
    if (afterMs > 0) {
      clearTimeout(w.timer);
      w.timer = setTimeout(() => this.kick(uid), afterMs);
      return;
    }
    if (w.busy) {
      w.again = true;
      return;
    }
    void this.loop(w);
  }

  private async loop(w: PodWork): Promise<void> {
    w.busy = true;
    try {
      do {
        w.again = false;
        clearTimeout(w.timer);
        let next = RESYNC_MS;
        try {
          next = await this.sync(w);
        } catch (e) {
          this.log(`pod ${this.name(w)}: ${(e as Error).message}`);
          next = RETRY_MS;
        }
        if (!this.work.has(w.uid)) return;
        if (next > 0 && !w.again) w.timer = setTimeout(() => this.kick(w.uid), next);
      } while (w.again && !this.stopped);
    } finally {
      w.busy = false;
    }
  }

  private name(w: PodWork): string {
    return w.pod ? `${w.pod.metadata.namespace}/${w.pod.metadata.name}` : w.uid;
  }

  // ---- the sync of one pod; returns when to sync again (ms)

  private async sync(w: PodWork): Promise<number> {
    const pod = w.pod;
    if (!pod || w.removed || pod.metadata.deletionTimestamp) w.terminating = true;
    if (w.terminating) return this.syncTerminating(w);
    if (terminal(pod)) {
      // done: containers stay for their logs, the sandbox is stopped
      const rt = this.o.runtime.get(w.uid);
      for (const s of rt.sandboxes)
        if (s.state === 'SANDBOX_READY') await this.o.cri.stopPodSandbox(s.id).catch(() => {});
      return 0;
    }
    return this.syncRunning(w, pod!);
  }

  private async syncRunning(w: PodWork, pod: KubeObject): Promise<number> {
    const { cri, ctx } = this.o;
    const uid = w.uid;
    let rt = this.o.runtime.get(uid);
    let sandbox = rt.sandboxes[0];
    let next = RESYNC_MS;
    const dir = podDir(ctx, pod);
    mkdirSync(dir, { recursive: true });
    mkdirSync(podLogDir(ctx, pod), { recursive: true });
    const sbConfig = sandboxConfig(
      pod,
      ctx,
      sandbox ? Number(sandbox.metadata.attempt ?? 0) + (sandbox.state === 'SANDBOX_READY' ? 0 : 1) : 0,
    );

    // 1. the pod is done? (restartPolicy Never/OnFailure and everything finished) -> write the status, stop the sandbox
    // 2. sandbox
    if (!sandbox || sandbox.state !== 'SANDBOX_READY') {
      if (sandbox && this.podFinished(pod, rt)) {
        await this.writeStatus(w, pod, rt);
        return 0;
      }
      for (const c of rt.containers) if (c.state === 'CONTAINER_RUNNING') await this.stopContainer(pod, c, 0);
      ensurePodCgroup(podCgroupParent(ctx, uid), podLimits(pod));
      try {
        const id = await cri.runPodSandbox(sbConfig);
        void id;
      } catch (e) {
        this.o.events.event(
          pod,
          'Warning',
          'FailedCreatePodSandBox',
          `Failed to create pod sandbox: ${(e as Error).message}`,
        );
        throw e;
      }
      rt = await this.o.runtime.refresh(uid);
      sandbox = rt.sandboxes[0];
    }
    const podIP = pod.spec?.hostNetwork ? ctx.nodeIP : (sandbox.network?.ip ?? '');
    const facts = { podIP, podIPs: podIP ? [podIP] : [], hostIP: ctx.nodeIP };
    const hosts = path.join(dir, 'etc-hosts');
    if (!pod.spec?.hostNetwork) writeFileSync(hosts, hostsFile(pod, facts.podIPs, ctx.clusterDomain));

    // 3. volumes (refreshed on every sync: ConfigMap and Secret changes reach running pods)
    try {
      w.volumes = await prepareVolumes(pod, dir, this.o.objects, facts, this.o.allocatable());
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const msg = `MountVolume.SetUp failed: ${e.message}`;
      this.o.events.event(pod, 'Warning', 'FailedMount', msg);
      await this.writeStatus(w, pod, rt);
      return RETRY_MS * 5;
    }

    const inSandbox = rt.containers.filter((c) => c.pod_sandbox_id === sandbox.id);
    const policy = pod.spec?.restartPolicy ?? 'Always';

    // 4. init containers, in order
    let initDone = true;
    for (const c of pod.spec?.initContainers ?? []) {
      const cur = inSandbox.find((x) => x.metadata.name === c.name);
      const sidecar = c.restartPolicy === 'Always';
      if (cur?.state === 'CONTAINER_RUNNING') {
        this.ensureProbes(pod, c, cur, podIP);
        if (sidecar && this.probes.started(cur.id, !!c.startupProbe)) continue;
        initDone = false;
        break;
      }
      if (cur?.state === 'CONTAINER_EXITED' && cur.exit_code === 0 && !sidecar) {
        w.waiting.delete(c.name);
        continue;
      }
      initDone = false;
      if (cur?.state === 'CONTAINER_EXITED' && policy === 'Never' && !sidecar) break; // the pod failed
      const wait = await this.startWithBackoff(w, pod, c, cur, rt, sandbox.id, sbConfig, true);
      if (wait > 0) next = Math.min(next, wait);
      break;
    }

    // 5. app containers
    if (initDone) {
      for (const c of pod.spec?.containers ?? []) {
        const cur = inSandbox.find((x) => x.metadata.name === c.name);
        if (cur?.state === 'CONTAINER_RUNNING') {
          const failed = this.probes.failed(cur.id);
          if (cur.annotations?.[L.CONTAINER_HASH] !== containerHash(c)) {
            this.o.events.event(pod, 'Normal', 'Killing', `Container ${c.name} definition changed, will be restarted`);
            await this.stopContainer(pod, cur, this.gracePeriod(pod));
          } else if (failed) {
            const what = failed.kind === 'liveness' ? 'Liveness' : 'Startup';
            this.o.events.event(pod, 'Warning', 'Unhealthy', `${what} probe failed: ${failed.message}`);
            this.o.events.event(
              pod,
              'Normal',
              'Killing',
              `Container ${c.name} failed ${failed.kind} probe, will be restarted`,
            );
            await this.stopContainer(pod, cur, this.gracePeriod(pod));
          } else {
            this.ensureProbes(pod, c, cur, podIP);
            w.waiting.delete(c.name);
            continue;
          }
          rt = await this.o.runtime.refresh(uid);
          const again = rt.containers.find((x) => x.id === cur.id)!;
          const wait = await this.startWithBackoff(w, pod, c, again, rt, sandbox.id, sbConfig, false);
          if (wait > 0) next = Math.min(next, wait);
          continue;
        }
        if (cur?.state === 'CONTAINER_EXITED') {
          const restart = policy === 'Always' || (policy === 'OnFailure' && cur.exit_code !== 0);
          if (!restart) {
            w.waiting.delete(c.name);
            continue;
          }
        }
        const wait = await this.startWithBackoff(w, pod, c, cur, rt, sandbox.id, sbConfig, false);
        if (wait > 0) next = Math.min(next, wait);
      }
    }
    rt = await this.o.runtime.refresh(uid);
    this.probes.retain(uid, new Set(rt.containers.filter((c) => c.state === 'CONTAINER_RUNNING').map((c) => c.id)));
    await this.pruneDeadContainers(rt);
    await this.writeStatus(w, pod, rt);
    if (this.podFinished(pod, rt)) {
      for (const s of rt.sandboxes) if (s.state === 'SANDBOX_READY') await cri.stopPodSandbox(s.id).catch(() => {});
      return 0;
    }
    return next;
  }

  /** restartPolicy Never/OnFailure pods whose containers all finished for good */
  private podFinished(pod: KubeObject, rt: RuntimePod): boolean {
    const policy = pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Always') return false;
    const sandbox = rt.sandboxes[0];
    if (!sandbox) return false;
    const inSandbox = rt.containers.filter((c) => c.pod_sandbox_id === sandbox.id);
    if (policy === 'Never') {
      const initFailed = (pod.spec?.initContainers ?? []).some((c: any) =>
        inSandbox.find((x) => x.metadata.name === c.name && x.state === 'CONTAINER_EXITED' && x.exit_code !== 0),
      );
      if (initFailed) return true;
    }
    return (pod.spec?.containers ?? []).every((c: any) => {
      const cur = inSandbox.find((x) => x.metadata.name === c.name);
      if (!cur || cur.state !== 'CONTAINER_EXITED') return false;
      return policy === 'Never' || cur.exit_code === 0;
    });
  }

  private gracePeriod(pod: KubeObject): number {
    return Number(pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
  }

  private ensureProbes(pod: KubeObject, c: any, cur: ContainerStatus, podIP: string): void {
    if (c.livenessProbe || c.readinessProbe || c.startupProbe)
      this.probes.ensure(pod.metadata.uid!, c, cur.id, podIP, nsToMs(cur.started_at) || Date.now());
  }

  /**
   * Starts a container (a new attempt) unless its crash back-off is in force; returns the ms until the next try
   * when it waits, else 0.
   */
  private async startWithBackoff(
    w: PodWork,
    pod: KubeObject,
    c: any,
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

  private async pullIfNeeded(w: PodWork, pod: KubeObject, c: any): Promise<number> {
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
    w: PodWork,
    pod: KubeObject,
    c: any,
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
    h: any,
    containerId: string,
    c: any,
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
  private async stopContainer(pod: KubeObject | undefined, cs: ContainerStatus, graceSeconds: number): Promise<void> {
    const t0 = Date.now();
    const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find(
      (c: any) => c.name === cs.metadata.name,
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

  // ---- termination

  private async syncTerminating(w: PodWork): Promise<number> {
    const { cri, ctx } = this.o;
    let rt = await this.o.runtime.refresh(w.uid);
    const pod = w.pod;
    if (!w.killed) {
      const grace = pod
        ? this.gracePeriod(pod)
        : Number(rt.sandboxes[0]?.annotations?.[L.TERMINATION_GRACE_PERIOD] ?? 2);
      if (pod && !w.removed)
        this.o.events.event(
          pod,
          'Normal',
          'Killing',
          `Stopping container ${(pod.spec?.containers ?? []).map((c: any) => c.name).join(', ')}`,
        );
      await Promise.all(
        rt.containers
          .filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED')
          .map((c) => this.stopContainer(pod, c, grace)),
      );
      for (const s of rt.sandboxes)
        await cri.stopPodSandbox(s.id).catch((e) => (isCriNotFound(e) ? undefined : Promise.reject(e)));
      this.probes.removePod(w.uid);
      w.killed = true;
      rt = await this.o.runtime.refresh(w.uid);
    }
    if (pod && !w.removed && pod.metadata.deletionTimestamp && !w.finished) {
      await this.writeStatus(w, pod, rt, true);
      try {
        await this.o.client.delete(Pods, pod.metadata.namespace, pod.metadata.name!, {
          gracePeriodSeconds: 0,
          preconditions: { uid: pod.metadata.uid },
        });
      } catch (e) {
        if (!isNotFound(e) && !(e as any).code) throw e;
      }
      w.finished = true;
      return 0; // the informer's delete completes the cleanup
    }
    if (!w.removed && pod && !pod.metadata.deletionTimestamp) return 0;
    // the API no longer has the pod: remove everything the node holds for it
    for (const c of rt.containers)
      await cri.removeContainer(c.id).catch((e) => (isCriNotFound(e) ? undefined : Promise.reject(e)));
    for (const s of rt.sandboxes)
      await cri.removePodSandbox(s.id).catch((e) => (isCriNotFound(e) ? undefined : Promise.reject(e)));
    await this.o.runtime.refresh(w.uid);
    if (!removePodCgroup(podCgroupParent(ctx, w.uid))) {
      this.log(`pod ${this.name(w)}: its cgroup is still in use; trying again`);
      return RETRY_MS;
    }
    removePodDir(path.join(ctx.podsDir, w.uid));
    this.o.objects.forgetPod?.(w.uid);
    if (pod) rmSync(podLogDir(ctx, pod), { recursive: true, force: true });
    this.crash.forget(`${w.uid}/`);
    this.pulls.forget(`${w.uid}/`);
    for (const k of [...this.pullFailedAt.keys()]) if (k.startsWith(`${w.uid}/`)) this.pullFailedAt.delete(k);
    clearTimeout(w.timer);
    this.work.delete(w.uid);
    return 0;
  }

  // ---- status

  private async writeStatus(w: PodWork, pod: KubeObject, rt: RuntimePod, terminating = false): Promise<void> {
    const ctx = this.o.ctx;
    const status = podStatus({
      pod,
      runtime: rt,
      nodeIP: ctx.nodeIP,
      waiting: w.waiting,
      probes: this.probes,
      terminating: terminating || w.terminating,
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
      const updated = await this.o.client.patch<KubeObject>(
        Pods,
        pod.metadata.namespace,
        pod.metadata.name!,
        { metadata: { uid: pod.metadata.uid }, status },
        'strategic',
        { subresource: 'status' },
      );
      w.lastStatus = json;
      if (updated?.metadata?.uid === pod.metadata.uid && w.pod === pod) w.pod = updated;
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
    for (const w of this.work.values()) clearTimeout(w.timer);
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
    while ([...this.work.values()].some((w) => w.busy) && Date.now() < deadline) await sleep(50);
    await sweep();
    removePodCgroup(this.o.ctx.cgroupRoot);
  }
}
