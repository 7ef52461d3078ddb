/**
 * The service proxy (kube-proxy's counterpart) for ClusterIPs and node ports: iptables rules by default, the
 * userspace proxy where iptables does not work here, or none. Its rules are removed at stop.
 */
import { BRIDGE } from '../network/cni.ts';
import { iptablesAvailable } from '../proxy/iptables.ts';
import { allowLocalhostNodePorts, iptablesBackend, ServiceProxy } from '../proxy/proxier.ts';
import { UserspaceProxier } from '../proxy/userspace.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class ServiceProxyHook implements Hook {
  readonly name = 'service-proxy';
  private proxy?: ServiceProxy;

  constructor(private readonly s: AgentState) {}

  async start(): Promise<void> {
    const { s } = this;
    let mode = s.options.proxyMode ?? 'iptables';
    if (mode === 'iptables') {
      const why = await iptablesAvailable();
      if (why) {
        s.log(`service proxy: userspace mode, because ${why}`);
        mode = 'userspace';
      }
    }
    if (mode === 'none') return;
    await allowLocalhostNodePorts();
    // the chains of a second agent on this host (another bridge) must not collide with the first one's
    const prefix = s.bridge === BRIDGE ? 'SKIFF' : `SK${s.bridge.slice(-6).toUpperCase()}`;
    const backend = mode === 'iptables' ? iptablesBackend(prefix, s.log) : new UserspaceProxier(s.log);
    this.proxy = new ServiceProxy({
      services: s.informers.services,
      slices: s.informers.slices,
      nodeName: s.nodeName,
      backend,
      log: s.log,
    });
    s.log(`service proxy: ${mode} mode`);
  }

  async stop(): Promise<void> {
    await this.proxy?.stop(true);
  }

  abandon(): void {
    void this.proxy?.stop(false);
  }
}
