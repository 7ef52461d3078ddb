/**
 * The served resources, changeable while the server runs (custom resources come and go): one map from
 * '<group>/<version>/<resource>' to the Resource the REST layer serves, with its REST strategy, subresources, storage
 * prefix and watch cache. A resource added is served once its watch cache holds what the store has; discovery and
 * OpenAPI follow every change through the listeners.
 */
import type { ResourceInfo } from '../api/resource-info.ts';
import type { StorageView } from '../api/strategy.ts';
import { addDefinition, removeDefinition, resolve } from '../openapi/definitions.ts';
import type { Schema } from '../openapi/model.ts';
import { storagePrefix, type Resource, type TypeStrategy } from '../rest/resource.ts';
import { ResourceCache } from '../watchcache/cache.ts';
import type { Dispatcher } from '../watchcache/dispatcher.ts';
import { restStrategy, subresources, type StrategyDeps, type SubresourceDeps } from './index.ts';
import { freeFormSchemas, listDefinition } from './schemas.ts';

export interface ResourceDefinition {
  info: ResourceInfo;
  /** the type's defaults, validation and selectable fields (apiserver/api) */
  type: TypeStrategy;
  /** set when the resource is stored as another one, which must be served already */
  view?: StorageView;
  /** the storage key prefix, ending in '/' (default: Kubernetes' layout for the resource) */
  prefix?: string;
  /** the OpenAPI schemas of the kind and its list, when the API model has none (default: free-form ones) */
  schemas?: Record<string, Schema>;
}

export interface RegistryOptions {
  deps: StrategyDeps & SubresourceDeps;
  /** events each watch cache keeps */
  watchCacheSize?: number;
}

interface CacheEntry {
  cache: ResourceCache;
  /** filled from the store */
  filled: Promise<void>;
  /** the resources it serves (a resource stored as another shares its cache) */
  users: number;
}

interface Entry {
  resource: Resource;
  /** where it stands among the others (discovery lists them in this order) */
  seq: number;
  /** schemas it added to the model */
  schemas: string[];
}

export class Registry {
  private readonly entries = new Map<string, Entry>();
  private readonly caches = new Map<string, CacheEntry>();
  private readonly listeners: ((infos: readonly ResourceInfo[]) => void)[] = [];
  private ordered?: readonly ResourceInfo[];
  private seq = 0;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly opts: RegistryOptions,
  ) {}

  /** the served resource of a group ('' for core), version and plural name */
  get(group: string, version: string, resource: string): Resource | undefined {
    return this.entries.get(`${group}/${version}/${resource}`)?.resource;
  }

  /** the served resource of a key '<group>/<version>/<resource>' ('/v1/pods') */
  lookup(key: string): Resource | undefined {
    return this.entries.get(key)?.resource;
  }

  /** what is served, in the order resources were added */
  infos(): readonly ResourceInfo[] {
    return (this.ordered ??= [...this.entries.values()].sort((a, b) => a.seq - b.seq).map((e) => e.resource.info));
  }

  /** called with what is served after every change */
  onChange(listener: (infos: readonly ResourceInfo[]) => void): void {
    this.listeners.push(listener);
  }

  /** serve resources, listed in this order; each stored as another is set up after the one it is stored as */
  async addAll(defs: readonly ResourceDefinition[]): Promise<void> {
    const first = this.seq;
    this.seq += defs.length;
    const order = defs.map((def, i) => ({ def, seq: first + i }));
    order.sort((a, b) => Number(!!a.def.view) - Number(!!b.def.view));
    for (const { def, seq } of order) await this.serve(def, seq);
    this.changed();
  }

  /** serve one more resource (a custom resource): its watch cache is filled before it is served */
  async add(def: ResourceDefinition): Promise<Resource> {
    const r = await this.serve(def, this.seq++);
    this.changed();
    return r;
  }

  /** stop serving a resource: its watchers are ended; its stored objects stay */
  remove(group: string, version: string, resource: string): boolean {
    const key = `${group}/${version}/${resource}`;
    const e = this.entries.get(key);
    if (!e) return false;
    this.entries.delete(key);
    for (const name of e.schemas) removeDefinition(name);
    const c = this.caches.get(e.resource.prefix);
    if (c && --c.users === 0) {
      this.caches.delete(e.resource.prefix);
      this.dispatcher.remove(c.cache, `${resource}.${group} is no longer served`);
    }
    this.changed();
    return true;
  }

  private changed(): void {
    this.ordered = undefined;
    const infos = this.infos();
    for (const l of this.listeners) l(infos);
  }

  private async serve(def: ResourceDefinition, seq: number): Promise<Resource> {
    const info = def.info;
    const key = `${info.group}/${info.version}/${info.resource}`;
    if (this.entries.has(key)) throw new Error(`${key} is served already`);
    const schemas = this.addSchemas(def);
    const strategy = restStrategy(info, def.type, this.opts.deps);
    const prefix = def.prefix ?? storagePrefix(info);
    let c = this.caches.get(prefix);
    if (def.view && !c)
      throw new Error(`${info.group}/${info.resource} is stored as another resource, which is not served`);
    if (!c) {
      const cache = new ResourceCache(prefix, {
        selectableFields: (o) => strategy.selectableFields(o),
        indexField: strategy.indexField,
        capacity: this.opts.watchCacheSize,
      });
      c = { cache, filled: this.dispatcher.add(cache), users: 0 };
      this.caches.set(prefix, c);
    }
    c.users++;
    try {
      await c.filled;
    } catch (e) {
      if (--c.users === 0) this.caches.delete(prefix);
      for (const name of schemas) removeDefinition(name);
      throw e;
    }
    const selectable = new Set(Object.keys(strategy.selectableFields({ metadata: {}, spec: {}, status: {} })));
    selectable.add('metadata.name');
    if (info.namespaced) selectable.add('metadata.namespace');
    const resource: Resource = {
      info,
      strategy,
      prefix,
      cache: c.cache,
      selectable,
      view: def.view,
      subresources: subresources(info, this.opts.deps),
    };
    this.entries.set(key, { resource, seq, schemas });
    return resource;
  }

  /** the schemas the model lacks for the kind and its list: given, or free-form */
  private addSchemas(def: ResourceDefinition): string[] {
    const given = def.schemas ?? {};
    const wanted = def.schemas ? Object.keys(given) : [def.info.definition, listDefinition(def.info)];
    const missing = wanted.filter((name) => def.schemas || !resolve(name));
    if (missing.length === 0) return [];
    const schemas = def.schemas ?? freeFormSchemas(def.info);
    for (const name of missing) addDefinition(name, schemas[name]);
    return missing;
  }
}
