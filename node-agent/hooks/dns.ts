/**
 * Cluster DNS served by this agent (no CoreDNS): records from the watch of Services and EndpointSlices, answered on
 * the first clusterDNS address, added to lo when missing; other names are forwarded to the host's resolvers.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { addLocalAddress, removeLocalAddress } from '../dns/local-address.ts';
import { ClusterRecords } from '../dns/records.ts';
import { DnsServer } from '../dns/server.ts';
import type { Hook } from './hook.ts';
import type { AgentState } from './state.ts';

export class DnsHook implements Hook {
  readonly name = 'dns';
  private server?: DnsServer;
  /** the address this agent added to lo (and so removes at stop) */
  private addedAddress?: string;

  constructor(private readonly s: AgentState) {}

  private get marker(): string {
    return this.s.dir('dns-address');
  }

  async start(): Promise<void> {
    const { s } = this;
    const clusterDNS = s.options.clusterDNS ?? [];
    if (!s.options.embeddedDNS || !clusterDNS.length) return;
    const { clusterDomain, hostResolv } = s.nodeContext;
    const records = new ClusterRecords(clusterDomain);
    s.informers.services.addEventHandler({
      onAdd: (x) => records.upsertService(x),
      onUpdate: (_, x) => records.upsertService(x),
      onDelete: (x) => records.deleteService(x),
    });
    s.informers.slices.addEventHandler({
      onAdd: (x) => records.upsertSlice(x),
      onUpdate: (_, x) => records.upsertSlice(x),
      onDelete: (x) => records.deleteSlice(x),
    });
    const address = clusterDNS[0];
    // an address this agent added before it was killed is still its own to remove
    const ours = existsSync(this.marker) && readFileSync(this.marker, 'utf8').trim() === address;
    if ((await addLocalAddress(address)) || ours) {
      this.addedAddress = address;
      writeFileSync(this.marker, address + '\n');
    }
    const upstreams = hostResolv.servers.filter((a) => !clusterDNS.includes(a));
    this.server = new DnsServer({ records, address, upstreams, log: s.log });
    await this.server.start();
    s.log(
      `cluster DNS on ${address}:53 (zone ${clusterDomain}; other names to ${upstreams.join(', ') || 'no upstream: SERVFAIL'})`,
    );
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    if (this.addedAddress) {
      await removeLocalAddress(this.addedAddress);
      rmSync(this.marker, { force: true });
    }
  }
}
