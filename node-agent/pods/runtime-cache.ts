/**
 * What the runtime holds for each pod, kept fresh by relisting (kubelet's PLEG): every second the agent lists its
 * sandboxes and containers (two CRI calls), asks for the full status only of what changed, and reports the pods
 * whose runtime state changed, so a container that dies is noticed within a second or two without polling each pod.
 */
import type { CriClient } from '../cri/client.ts';
import type { ContainerStatus, PodSandboxStatus } from '../cri/types.ts';
import * as L from './labels.ts';

export interface RuntimePod {
  uid: string;
  name: string;
  namespace: string;
  /** newest first */
  sandboxes: PodSandboxStatus[];
  /** every container of the pod in any sandbox, newest first */
  containers: (ContainerStatus & { pod_sandbox_id: string })[];
}

const EMPTY: RuntimePod = { uid: '', name: '', namespace: '', sandboxes: [], containers: [] };

function newestFirst<T extends { created_at: string }>(a: T, b: T): number {
  const x = BigInt(a.created_at || '0');
  const y = BigInt(b.created_at || '0');
  return x > y ? -1 : x < y ? 1 : 0;
}

export class RuntimeCache {
  private readonly pods = new Map<string, RuntimePod>();
  /** container id -> state seen at the last relist, and its full status */
  private readonly containers = new Map<
    string,
    { state: string; status: ContainerStatus & { pod_sandbox_id: string } }
  >();
  private readonly sandboxes = new Map<string, { state: string; status: PodSandboxStatus }>();
  private relisting: Promise<Set<string>> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private listedOnce = false;

  constructor(
    private readonly cri: CriClient,
    private readonly nodeName: string,
    private readonly log: (msg: string) => void = () => {},
  ) {}

  get(uid: string): RuntimePod {
    return this.pods.get(uid) ?? { ...EMPTY, uid };
  }

  uids(): IterableIterator<string> {
    return this.pods.keys();
  }

  get ready(): boolean {
    return this.listedOnce;
  }

  /** Relists every `periodMs` and calls `onChange` with the uids of pods whose runtime state changed. */
  start(periodMs: number, onChange: (uids: Set<string>) => void): void {
    const tick = async () => {
      try {
        const changed = await this.relist();
        if (changed.size) onChange(changed);
      } catch (e) {
        this.log(`relist failed: ${(e as Error).message}`);
      }
      this.timer = setTimeout(tick, periodMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** One relist; concurrent callers share it. */
  relist(): Promise<Set<string>> {
    if (!this.relisting) {
      this.relisting = this.doRelist().finally(() => {
        this.relisting = undefined;
      });
    }
    return this.relisting;
  }

  /** Refreshes one pod at once (after the agent acted on it). */
  async refresh(uid: string): Promise<RuntimePod> {
    const labels = { [L.POD_UID]: uid, [L.MANAGED_BY_NODE]: this.nodeName };
    const [sbs, cs] = await Promise.all([this.cri.listPodSandbox({ labels }), this.cri.listContainers({ labels })]);
    const seenS = new Set<string>();
    const seenC = new Set<string>();
    for (const s of sbs) {
      seenS.add(s.id);
      await this.updateSandbox(s.id, s.state);
    }
    for (const c of cs) {
      seenC.add(c.id);
      await this.updateContainer(c.id, c.state, c.pod_sandbox_id);
    }
    const before = this.pods.get(uid);
    for (const s of before?.sandboxes ?? []) if (!seenS.has(s.id)) this.sandboxes.delete(s.id);
    for (const c of before?.containers ?? []) if (!seenC.has(c.id)) this.containers.delete(c.id);
    this.rebuild(uid);
    return this.get(uid);
  }

  private async updateSandbox(id: string, state: string): Promise<boolean> {
    const prev = this.sandboxes.get(id);
    if (prev && prev.state === state) return false;
    try {
      const status = await this.cri.podSandboxStatus(id);
      this.sandboxes.set(id, { state, status });
    } catch (e) {
      this.log(`sandbox ${id.slice(0, 12)}: ${(e as Error).message}`);
      return false;
    }
    return true;
  }

  private async updateContainer(id: string, state: string, sandboxId: string): Promise<boolean> {
    const prev = this.containers.get(id);
    if (prev && prev.state === state) return false;
    try {
      const { status } = await this.cri.containerStatus(id);
      this.containers.set(id, { state, status: { ...status, pod_sandbox_id: sandboxId } });
    } catch (e) {
      this.log(`container ${id.slice(0, 12)}: ${(e as Error).message}`);
      return false;
    }
    return true;
  }

  private async doRelist(): Promise<Set<string>> {
    const labels = { [L.MANAGED_BY_NODE]: this.nodeName };
    const [sbs, cs] = await Promise.all([this.cri.listPodSandbox({ labels }), this.cri.listContainers({ labels })]);
    const changed = new Set<string>();
    const liveS = new Set<string>();
    const liveC = new Set<string>();
    await Promise.all(
      sbs.map(async (s) => {
        liveS.add(s.id);
        if (await this.updateSandbox(s.id, s.state)) changed.add(s.labels[L.POD_UID] ?? s.metadata.uid);
      }),
    );
    await Promise.all(
      cs.map(async (c) => {
        liveC.add(c.id);
        if (await this.updateContainer(c.id, c.state, c.pod_sandbox_id)) changed.add(c.labels[L.POD_UID]);
      }),
    );
    for (const [id, s] of this.sandboxes) {
      if (!liveS.has(id)) {
        this.sandboxes.delete(id);
        changed.add(s.status.labels[L.POD_UID] ?? s.status.metadata.uid);
      }
    }
    for (const [id, c] of this.containers) {
      if (!liveC.has(id)) {
        this.containers.delete(id);
        changed.add(c.status.labels[L.POD_UID]);
      }
    }
    if (changed.size || !this.listedOnce) {
      this.pods.clear();
      this.rebuildAll();
    }
    this.listedOnce = true;
    changed.delete(undefined as unknown as string);
    return changed;
  }

  private rebuildAll(): void {
    const uids = new Set<string>();
    for (const s of this.sandboxes.values()) uids.add(s.status.labels[L.POD_UID] ?? s.status.metadata.uid);
    for (const c of this.containers.values()) uids.add(c.status.labels[L.POD_UID]);
    for (const uid of uids) if (uid) this.rebuild(uid);
  }

  /** Rebuilds one pod's entry from the sandbox and container maps (O(containers of the node); fine at 110 pods). */
  private rebuild(uid: string): void {
    const sandboxes = [...this.sandboxes.values()]
      .map((s) => s.status)
      .filter((s) => (s.labels[L.POD_UID] ?? s.metadata.uid) === uid);
    const containers = [...this.containers.values()].map((c) => c.status).filter((c) => c.labels[L.POD_UID] === uid);
    if (!sandboxes.length && !containers.length) {
      this.pods.delete(uid);
      return;
    }
    sandboxes.sort(newestFirst);
    containers.sort(newestFirst);
    const meta = sandboxes[0]?.metadata;
    const name = meta?.name ?? containers[0]?.labels[L.POD_NAME] ?? '';
    const namespace = meta?.namespace ?? containers[0]?.labels[L.POD_NAMESPACE] ?? '';
    this.pods.set(uid, { uid, name, namespace, sandboxes, containers });
  }
}
