/**
 * What pod volumes and environments read from the API: ConfigMaps and Secrets with a short cache (the pods of one
 * sync share a read), and service account tokens through TokenRequest.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isNotFound } from '../../lib/kube/api.ts';
import { ConfigMaps, Secrets, ServiceAccounts } from '../../lib/kube/resources.ts';
import type { ConfigMap, Pod, Secret } from '../objects.ts';
import type { ObjectSource } from './env.ts';
import { TokenManager, type TokenRequest } from './tokens.ts';

const CACHE_MS = 2000;

export class ApiObjectSource implements ObjectSource {
  private readonly cache = new Map<string, { at: number; obj: Promise<ConfigMap | Secret | undefined> }>();
  private readonly tokens: TokenManager;

  constructor(private readonly client: ApiClient) {
    this.tokens = new TokenManager((ns, sa, body) =>
      this.client.create<TokenRequest>(ServiceAccounts, body, { subresource: 'token', name: sa }),
    );
  }

  serviceAccountToken(pod: Pod, source: { audience?: string; expirationSeconds?: number }) {
    return this.tokens.token(pod, source);
  }

  forgetPod(uid: string) {
    this.tokens.forget(uid);
  }

  private read(kind: 'cm' | 'secret', ns: string, name: string): Promise<ConfigMap | Secret | undefined> {
    const key = `${kind}/${ns}/${name}`;
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.obj;
    const obj = this.client.get<ConfigMap | Secret>(kind === 'cm' ? ConfigMaps : Secrets, ns, name).catch((e) => {
      if (isNotFound(e)) return undefined;
      throw e;
    });
    this.cache.set(key, { at: Date.now(), obj });
    if (this.cache.size > 1000) for (const k of [...this.cache.keys()].slice(0, 500)) this.cache.delete(k);
    return obj;
  }

  configMap(ns: string, name: string) {
    return this.read('cm', ns, name);
  }

  secret(ns: string, name: string) {
    return this.read('secret', ns, name);
  }
}
