/**
 * Discovery documents, built once from the resource registry: /version, /api, /apis, /apis/<group>,
 * /api/v1 and /apis/<group>/<version> resource lists, and aggregated discovery (apidiscovery.k8s.io v2 and v2beta1)
 * which kubectl 1.27+ asks for first.
 */
import type { ResourceInfo } from './api/resource-info.ts';
import { groupVersion } from './api/resource-info.ts';

/** the Kubernetes version skiff's API corresponds to */
export const KUBE_VERSION = { major: '1', minor: '33', gitVersion: 'v1.33.0-skiff' };

export function versionInfo() {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: KUBE_VERSION.gitVersion,
    gitCommit: 'skiff',
    gitTreeState: 'clean',
    buildDate: '2026-01-01T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsx',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

interface GroupEntry {
  name: string;
  versions: string[];
  resources: Map<string, ResourceInfo[]>;
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  binding: ['create'],
  eviction: ['create'],
  finalize: ['update'],
  log: ['get'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
  token: ['create'],
};

const SUBRESOURCE_KIND: Record<string, { kind: string; group?: string; version?: string }> = {
  scale: { kind: 'Scale', group: 'autoscaling', version: 'v1' },
  binding: { kind: 'Binding' },
  eviction: { kind: 'Eviction', group: 'policy', version: 'v1' },
  log: { kind: 'Pod' },
  exec: { kind: 'PodExecOptions' },
  attach: { kind: 'PodAttachOptions' },
  portforward: { kind: 'PodPortForwardOptions' },
  token: { kind: 'TokenRequest', group: 'authentication.k8s.io', version: 'v1' },
};

export class Discovery {
  private groups: GroupEntry[] = [];
  private readonly cache = new Map<string, string>();

  constructor(
    resources: readonly ResourceInfo[],
    private readonly serverAddress: () => string,
  ) {
    this.update(resources);
  }

  /** what is served now: the documents are built again on their next request */
  update(resources: readonly ResourceInfo[]): void {
    const groups: GroupEntry[] = [];
    for (const r of resources) {
      let g = groups.find((x) => x.name === r.group);
      if (!g) groups.push((g = { name: r.group, versions: [], resources: new Map() }));
      if (!g.versions.includes(r.version)) g.versions.push(r.version);
      const list = g.resources.get(r.version) ?? [];
      list.push(r);
      g.resources.set(r.version, list);
    }
    this.groups = groups;
    this.cache.clear();
  }

  private memo(key: string, build: () => unknown): string {
    let s = this.cache.get(key);
    if (s === undefined) {
      s = JSON.stringify(build());
      this.cache.set(key, s);
    }
    return s;
  }

  coreVersions(): string {
    return this.memo('api', () => ({
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: this.serverAddress() }],
    }));
  }

  private apiGroup(g: GroupEntry) {
    const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
    return { name: g.name, versions, preferredVersion: versions[0] };
  }

  groupList(): string {
    return this.memo('apis', () => ({
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: this.groups.filter((g) => g.name !== '').map((g) => this.apiGroup(g)),
    }));
  }

  group(name: string): string | undefined {
    const g = this.groups.find((x) => x.name === name && name !== '');
    if (!g) return undefined;
    return this.memo(`g:${name}`, () => ({ kind: 'APIGroup', apiVersion: 'v1', ...this.apiGroup(g) }));
  }

  resourceList(group: string, version: string): string | undefined {
    const g = this.groups.find((x) => x.name === group);
    const list = g?.resources.get(version);
    if (!list) return undefined;
    return this.memo(`r:${group}/${version}`, () => {
      const resources: any[] = [];
      for (const r of list) {
        const entry: any = {
          name: r.resource,
          singularName: r.singular,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: r.verbs,
        };
        if (r.shortNames.length) entry.shortNames = r.shortNames;
        if (r.categories.length) entry.categories = r.categories;
        entry.storageVersionHash = storageVersionHash(r);
        resources.push(entry);
        for (const sub of r.subresources) {
          const sk = SUBRESOURCE_KIND[sub];
          const e: any = {
            name: `${r.resource}/${sub}`,
            singularName: '',
            namespaced: r.namespaced,
            kind: sk?.kind ?? r.kind,
            verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
          };
          if (sk?.group) {
            e.group = sk.group;
            e.version = sk.version;
          }
          resources.push(e);
        }
      }
      return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
    });
  }

  /** aggregated discovery for /api (core) or /apis (groups), in apidiscovery.k8s.io/<v> */
  aggregated(core: boolean, apiVersion: 'v2' | 'v2beta1'): string {
    return this.memo(`agg:${core}:${apiVersion}`, () => ({
      kind: 'APIGroupDiscoveryList',
      apiVersion: `apidiscovery.k8s.io/${apiVersion}`,
      metadata: {},
      items: this.groups
        .filter((g) => (core ? g.name === '' : g.name !== ''))
        .map((g) => ({
          metadata: { name: g.name, creationTimestamp: null },
          versions: g.versions.map((v) => ({
            version: v,
            freshness: 'Current',
            resources: (g.resources.get(v) ?? []).map((r) => {
              const e: any = {
                resource: r.resource,
                responseKind: { group: r.group, version: r.version, kind: r.kind },
                scope: r.namespaced ? 'Namespaced' : 'Cluster',
                singularResource: r.singular,
                verbs: r.verbs,
              };
              if (r.shortNames.length) e.shortNames = r.shortNames;
              if (r.categories.length) e.categories = r.categories;
              if (r.subresources.length) {
                e.subresources = r.subresources.map((sub) => {
                  const sk = SUBRESOURCE_KIND[sub];
                  return {
                    subresource: sub,
                    responseKind: {
                      group: sk?.group ?? r.group,
                      version: sk?.version ?? r.version,
                      kind: sk?.kind ?? r.kind,
                    },
                    verbs: SUBRESOURCE_VERBS[sub] ?? ['get'],
                  };
                });
              }
              return e;
            }),
          })),
        })),
    }));
  }
}

/** a stable short hash per resource, as Kubernetes publishes for storage migration tooling */
function storageVersionHash(r: ResourceInfo): string {
  let h = 2166136261;
  for (const c of `${r.group}/${r.version}/${r.kind}`) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
  return Buffer.from(h.toString(16).padStart(8, '0')).toString('base64').slice(0, 11);
}

/** which aggregated discovery version (if any) an Accept header asks for */
export function wantsAggregated(accept: string | undefined): 'v2' | 'v2beta1' | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    if (!part.includes('as=APIGroupDiscoveryList') || !part.includes('g=apidiscovery.k8s.io')) continue;
    if (/v=v2beta1/.test(part)) return 'v2beta1';
    if (/v=v2(\b|;|$)/.test(part)) return 'v2';
  }
  return undefined;
}
