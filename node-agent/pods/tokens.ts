/**
 * Service account tokens for projected volumes, as the kubelet's token manager gets them: a TokenRequest for the pod's
 * ServiceAccount bound to the pod (audience as the volume names it, else the API's), cached per pod, ServiceAccount,
 * audience and lifetime, and asked for again once 80% of its lifetime has passed or it is 24 h old, whichever comes
 * first (less a jitter of up to 10 s). When asking again fails, the cached token serves until it expires.
 */
import type { KubeObject } from '../../lib/kube/object.ts';
import type { Pod } from '../objects.ts';

export const MAX_TOKEN_AGE_MS = 24 * 3600_000;
export const MAX_JITTER_MS = 10_000;

export interface IssuedToken {
  token: string;
  /** ms since the epoch */
  expiresAt: number;
  /** the lifetime asked for, in seconds */
  expirationSeconds: number;
}

/** an authentication.k8s.io/v1 TokenRequest, as the agent asks for one */
export interface TokenRequest extends KubeObject {
  spec: {
    audiences?: string[];
    expirationSeconds: number;
    boundObjectRef: { apiVersion: string; kind: string; name?: string; uid?: string };
  };
}

/** what the agent reads of the TokenRequest answered */
export interface TokenRequestAnswer {
  spec?: { expirationSeconds?: number };
  status?: { token?: string; expirationTimestamp?: string };
}

/** POST serviceaccounts/<name>/token in the namespace; resolves with the TokenRequest answered */
export type TokenRequester = (
  namespace: string,
  serviceAccount: string,
  request: TokenRequest,
) => Promise<TokenRequestAnswer | undefined>;

/** whether a token must be asked for again: 80% of its lifetime gone, or older than 24 h (each less the jitter) */
export function requiresRefresh(t: IssuedToken, now: number, jitterMs = 0): boolean {
  const issuedAt = t.expiresAt - t.expirationSeconds * 1000;
  if (now > issuedAt + MAX_TOKEN_AGE_MS - jitterMs) return true;
  return now > t.expiresAt - t.expirationSeconds * 200 - jitterMs;
}

export class TokenManager {
  private readonly cache = new Map<string, IssuedToken>();

  constructor(
    private readonly request: TokenRequester,
    private readonly now: () => number = Date.now,
    private readonly jitter: () => number = () => Math.random() * MAX_JITTER_MS,
  ) {}

  /** the token for a projected serviceAccountToken source of the pod; throws when none can be had */
  async token(pod: Pod, source: { audience?: string; expirationSeconds?: number }): Promise<string> {
    const ns = pod.metadata.namespace!;
    const sa = pod.spec?.serviceAccountName || 'default';
    const seconds = source.expirationSeconds ?? 3600;
    const audiences = source.audience ? [source.audience] : [];
    const key = JSON.stringify([pod.metadata.uid, ns, sa, audiences, seconds]);
    const cur = this.cache.get(key);
    const now = this.now();
    if (cur && !requiresRefresh(cur, now, this.jitter())) return cur.token;
    try {
      const answer = await this.request(ns, sa, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        metadata: { namespace: ns },
        spec: {
          ...(audiences.length ? { audiences } : {}),
          expirationSeconds: seconds,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
        },
      });
      const token = answer?.status?.token;
      const expiresAt = Date.parse(answer?.status?.expirationTimestamp ?? '');
      if (typeof token !== 'string' || !token || !Number.isFinite(expiresAt))
        throw new Error('the API server answered a TokenRequest without a token');
      const issued = { token, expiresAt, expirationSeconds: answer.spec?.expirationSeconds ?? seconds };
      this.cache.set(key, issued);
      return token;
    } catch (e) {
      // the kubelet keeps using a token that is still valid when it cannot get a new one
      if (cur && cur.expiresAt > now) return cur.token;
      throw e;
    }
  }

  /** drops the tokens of a pod that is gone */
  forget(podUid: string): void {
    const prefix = JSON.stringify([podUid]).slice(0, -1) + ',';
    for (const k of this.cache.keys()) if (k.startsWith(prefix)) this.cache.delete(k);
  }

  get size(): number {
    return this.cache.size;
  }
}
