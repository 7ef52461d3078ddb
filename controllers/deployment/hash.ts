/**
 * A ReplicaSet's template against its Deployment's: equal but for the pod-template-hash label the ReplicaSet's
 * copy carries (the hash itself is lib/kube/history.ts' templateHash).
 */
import { canonicalJson } from '../../lib/kube/history.ts';

/** the template without the pod-template-hash label, for comparing a ReplicaSet's template with a Deployment's */
export function templateWithoutHash(template: any): any {
  const t = structuredClone(template ?? {});
  if (t.metadata?.labels) {
    delete t.metadata.labels['pod-template-hash'];
    if (!Object.keys(t.metadata.labels).length) delete t.metadata.labels;
  }
  return t;
}

export function sameTemplate(a: any, b: any): boolean {
  return canonicalJson(templateWithoutHash(a)) === canonicalJson(templateWithoutHash(b));
}
