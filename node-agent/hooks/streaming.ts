/**
 * The agent's HTTPS port (kubelet's 10250) for logs, exec, attach and port-forward, for the API server only: it
 * proves itself with a client certificate of the cluster CA. Without the CA, or without the port, the agent runs on
 * with logs and exec off, and says why.
 */
import { ConfigMaps } from '../../lib/kube/resources.ts';
import type { ConfigMap } from '../objects.ts';
import { AgentServer } from '../streaming/server.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class StreamingHook implements Hook {
  readonly name = 'streaming';
  private server?: AgentServer;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const { s } = this;
    const ca = await this.clusterCa();
    if (!ca) return;
    const port = s.options.port ?? 10250;
    const server = new AgentServer({
      cri: s.cri,
      runtime: s.runtime,
      pod: (ns, name) => s.informers.pods.getByName(ns, name),
      clusterCaPem: ca,
      nodeName: s.nodeName,
      nodeIP: s.nodeIP,
      port,
      log: s.log,
    });
    try {
      await server.start();
    } catch (e) {
      s.log(`logs and exec are off: cannot listen on port ${port}: ${(e as Error).message}`);
      return;
    }
    this.server = server;
    s.streaming = server;
    await s.status.reportStatus(true);
  }

  /** the cluster CA (ConfigMap kube-system/kube-root-ca.crt), or undefined when it cannot be read */
  private async clusterCa(): Promise<string | undefined> {
    try {
      const cm = await this.s.options.client.get<ConfigMap>(ConfigMaps, 'kube-system', 'kube-root-ca.crt');
      return cm.data?.['ca.crt'];
    } catch (e) {
      this.s.log(
        `logs and exec are off: the cluster CA (ConfigMap kube-system/kube-root-ca.crt) cannot be read: ${(e as Error).message}`,
      );
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await this.server?.stop();
  }
}
