/**
 * The node's service proxy, kube-proxy's counterpart: watches Services and EndpointSlices and keeps the kernel rules
 * (iptables.ts) in step, within a second of a change and in one batch per sync. Changes arriving together are
 * coalesced; a failed sync is retried.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Informer } from '../../lib/kube/informer.ts';
import type { EndpointSlice, Service } from '../objects.ts';
import { IptablesProxier } from './iptables.ts';
import { servicePorts, type ServicePort } from './model.ts';

const run = promisify(execFile);
/** changes within this window go into one sync */
const COALESCE_MS = 30;
const RETRY_MS = 1000;
const MAX_RETRY_MS = 30_000;

export interface Backend {
  sync(ports: ServicePort[]): Promise<number>;
  cleanup(): Promise<void>;
}

export interface ProxierOptions {
  services: Informer<Service>;
  slices: Informer<EndpointSlice>;
  nodeName: string;
  backend: Backend;
  log?: (msg: string) => void;
}

export class ServiceProxy {
  /** ns/name -> its service ports */
  private readonly ports = new Map<string, ServicePort[]>();
  /** ns/service -> slice keys */
  private readonly slicesOf = new Map<string, Set<string>>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private readonly log: (msg: string) => void;
  /** the last sync: when it ended and how long it took */
  lastSync = { at: 0, ms: 0, rewritten: 0 };

  constructor(private readonly o: ProxierOptions) {
    this.log = o.log ?? (() => {});
    const svcKey = (s: Service) => `${s.metadata.namespace}/${s.metadata.name}`;
    const sliceSvc = (s: EndpointSlice) =>
      `${s.metadata.namespace}/${s.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`;
    o.services.addEventHandler({
      onAdd: (s) => this.recompute(svcKey(s)),
      onUpdate: (_, s) => this.recompute(svcKey(s)),
      onDelete: (s) => this.recompute(svcKey(s)),
    });
    const sliceChanged = (s: EndpointSlice, gone: boolean) => {
      const svc = sliceSvc(s);
      let set = this.slicesOf.get(svc);
      if (!set) this.slicesOf.set(svc, (set = new Set()));
      const k = `${s.metadata.namespace}/${s.metadata.name}`;
      if (gone) set.delete(k);
      else set.add(k);
      this.recompute(svc);
    };
    o.slices.addEventHandler({
      onAdd: (s) => sliceChanged(s, false),
      onUpdate: (_, s) => sliceChanged(s, false),
      onDelete: (s) => sliceChanged(s, true),
    });
  }

  private recompute(svcKey: string): void {
    const [ns, name] = svcKey.split('/');
    const svc = this.o.services.getByName(ns, name);
    if (!svc) this.ports.delete(svcKey);
    else {
      const slices = [...(this.slicesOf.get(svcKey) ?? [])]
        .map((k) => this.o.slices.get(k))
        .filter((x): x is EndpointSlice => !!x);
      this.ports.set(svcKey, servicePorts(svc, slices, this.o.nodeName));
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.syncNow();
    }, COALESCE_MS);
  }

  /** Applies the current state (one sync at a time; a change during a sync causes one more). */
  async syncNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        const t0 = Date.now();
        try {
          const rewritten = await this.o.backend.sync([...this.ports.values()].flat());
          this.lastSync = { at: Date.now(), ms: Date.now() - t0, rewritten };
          this.failures = 0;
        } catch (e) {
          // retried with a growing delay: a sync that keeps failing must not keep the node busy
          const delay = Math.min(MAX_RETRY_MS, RETRY_MS * 2 ** this.failures++);
          this.log(`service proxy: ${(e as Error).message.split('\n')[0]} (retrying in ${delay / 1000} s)`);
          setTimeout(() => this.schedule(), delay);
        }
      } while (this.again && !this.stopped);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async stop(cleanup: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    if (cleanup) await this.o.backend.cleanup();
  }
}

/** Node ports answer on 127.0.0.1 too, as with kube-proxy: the kernel must route loopback sources. */
export async function allowLocalhostNodePorts(): Promise<void> {
  await run('sysctl', ['-q', '-w', 'net.ipv4.conf.all.route_localnet=1']).catch(() => {});
}

export function iptablesBackend(prefix: string, log: (m: string) => void): Backend {
  return new IptablesProxier({ prefix, log });
}
