/** Namespaces as controllers judge them. */
import type { KubeObject } from './object.ts';

/** being deleted: nothing new is made in it (the API server refuses creates there anyway) */
export function isTerminating(ns: KubeObject | undefined): boolean {
  return !!ns && (!!ns.metadata.deletionTimestamp || ns.status?.phase === 'Terminating');
}
