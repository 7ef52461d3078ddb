/**
 * The pods bound to this node: the runtime relist (kubelet's PLEG) and one worker per pod (pods/pod-manager.ts), fed
 * by the watch of the pods bound here. At start, what the runtime holds for pods the API no longer binds here is
 * removed. At stop the workers stop; the pods themselves only with stopPodsOnExit.
 */
import { ApiEventRecorder } from '../../lib/kube/events.ts';
import { ApiObjectSource } from '../pods/object-source.ts';
import { PodManager } from '../pods/pod-manager.ts';
import { RuntimeCache } from '../pods/runtime-cache.ts';
import { serviceEnvironment } from '../pods/service-env.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class PodsHook implements Hook {
  readonly name = 'pods';
  private runtime?: RuntimeCache;
  private pods?: PodManager;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const { s } = this;
    const o = s.options;
    const runtime = new RuntimeCache(s.cri, o.nodeName, s.log);
    this.runtime = runtime;
    s.runtime = runtime;
    const pods = new PodManager({
      client: o.client,
      cri: s.cri,
      runtime,
      ctx: s.nodeContext,
      objects: new ApiObjectSource(o.client),
      events: new ApiEventRecorder(o.client, 'kubelet', o.nodeName),
      allocatable: () => s.status.allocatable(),
      serviceEnv: (ns) => serviceEnvironment(s.informers.services, ns),
      backoff: o.backoff,
      log: s.log,
    });
    this.pods = pods;
    await runtime.relist();
    const informer = s.informers.pods;
    informer.addIndex('uid', (p) => [p.metadata.uid ?? '']);
    const known = (uid: string) => informer.byIndex('uid', uid).length > 0;
    informer.addEventHandler({
      onAdd: (p) => pods.upsert(p),
      onUpdate: (_, p) => pods.upsert(p),
      onDelete: (p) => pods.remove(p),
    });
    await pods.cleanupOrphans(known);
    runtime.start(o.relistMs ?? 1000, (uids) => pods.runtimeChanged(uids, known));
  }

  async stop(): Promise<void> {
    this.runtime?.stop();
    await this.pods?.stop({ stopPods: !!this.s.options.stopPodsOnExit });
  }

  ready(): boolean {
    return this.runtime?.ready ?? false;
  }

  abandon(): void {
    this.runtime?.stop();
  }
}
