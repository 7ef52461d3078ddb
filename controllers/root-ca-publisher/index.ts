/**
 * The root CA publisher: every active namespace has the ConfigMap kube-root-ca.crt whose key ca.crt holds the
 * cluster CA, so that pods can verify the API server (the ServiceAccount admission projects it into every pod at
 * /var/run/secrets/kubernetes.io/serviceaccount/ca.crt). Edits are undone and a deleted copy is written again, as
 * Kubernetes' root-ca-cert-publisher does. The CA comes from the API server's own copy, kube-system/kube-root-ca.crt
 * (this controller is an API client only and reads no file of the API server); that copy is the source and is not
 * rewritten here.
 */
import type { ApiClient } from '../../lib/kube/api.ts';
import { isAlreadyExists, isNamespaceTerminating, isConflict, isNotFound } from '../../lib/kube/api.ts';
import type { Informer } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { ConfigMaps, Namespaces } from '../../lib/kube/resources.ts';
import {
  ignore,
  type ControllerContext,
  type ControllerDefinition,
  type Reconciler,
  type Result,
} from '../controller.ts';
import { isTerminating } from '../../lib/kube/namespaces.ts';

export const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';
export const ROOT_CA_KEY = 'ca.crt';
/** where the API server publishes the CA */
export const SOURCE_NAMESPACE = 'kube-system';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.';
/** how long to wait for the API server's copy before looking again */
export const NO_SOURCE_RETRY_MS = 5_000;

export const rootCaPublisher: ControllerDefinition<RootCaReconciler> = {
  name: 'root-ca-publisher',
  component: 'root-ca-cert-publisher',
  // the key is the namespace; a namespace that goes takes its copy with it
  for: { resource: Namespaces, delete: ignore },
  watches: [
    {
      resource: ConfigMaps,
      select: { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` },
      // a new CA reaches every namespace
      map: (cm, r) => (cm.metadata.namespace === SOURCE_NAMESPACE ? r.namespaces.keys() : [cm.metadata.namespace!]),
    },
  ],
  reconciler: (ctx) => new RootCaReconciler(ctx),
};

export class RootCaReconciler implements Reconciler {
  private readonly client: ApiClient;
  readonly namespaces: Informer;
  private readonly configMaps: Informer;

  constructor(ctx: ControllerContext) {
    this.client = ctx.client;
    this.namespaces = ctx.informers.informer(Namespaces);
    this.configMaps = ctx.informers.informer(ConfigMaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
  }

  /** the CA the API server publishes */
  ca(): string | undefined {
    const ca = this.configMaps.getByName(SOURCE_NAMESPACE, ROOT_CA_CONFIGMAP)?.data?.[ROOT_CA_KEY];
    return typeof ca === 'string' && ca ? ca : undefined;
  }

  async reconcile(namespace: string): Promise<Result | void> {
    if (namespace === SOURCE_NAMESPACE) return;
    const ns = this.namespaces.getByName(undefined, namespace);
    if (!ns || isTerminating(ns)) return;
    const ca = this.ca();
    if (!ca) return { requeueAfterMs: NO_SOURCE_RETRY_MS };
    const cur = this.configMaps.getByName(namespace, ROOT_CA_CONFIGMAP);
    try {
      if (!cur) {
        await this.client.create(ConfigMaps, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP, namespace, annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION } },
          data: { [ROOT_CA_KEY]: ca },
        });
        return;
      }
      const data = cur.data ?? {};
      const upToDate =
        Object.keys(data).length === 1 &&
        data[ROOT_CA_KEY] === ca &&
        !cur.binaryData &&
        cur.metadata.annotations?.[DESCRIPTION_ANNOTATION] === DESCRIPTION;
      if (upToDate) return;
      const next: KubeObject = structuredClone(cur);
      next.data = { [ROOT_CA_KEY]: ca };
      delete next.binaryData;
      next.metadata.annotations = { ...(next.metadata.annotations ?? {}), [DESCRIPTION_ANNOTATION]: DESCRIPTION };
      await this.client.update(ConfigMaps, next);
    } catch (e) {
      // a stale cache (exists already, changed or gone meanwhile): the informer event brings the key back
      if (isAlreadyExists(e) || isConflict(e) || isNotFound(e) || isNamespaceTerminating(e)) return;
      throw e;
    }
  }
}
