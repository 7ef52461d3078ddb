/**
 * ControllerRevisions of DaemonSets and StatefulSets: the history of their pod templates, as Kubernetes keeps it.
 * A revision's `data` is the strategic merge patch that puts its template back (`kubectl rollout undo` applies it),
 * its `revision` number orders the history, and its name is "<owner>-<hash of the template>".
 */
import { isDeepStrictEqual } from 'node:util';
import type { Informer } from '../../lib/kube/informer.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import type { ControllerRevision } from '../../lib/kube/types/apps-v1.ts';

/** the ControllerRevision informer index by controlling owner uid */
export const REVISION_OWNER_INDEX = 'controller-owner-uid';

export function addRevisionOwnerIndex(revisions: Informer): void {
  revisions.addIndex(REVISION_OWNER_INDEX, (r) => {
    const ref = r.metadata.ownerReferences?.find((o) => o.controller === true);
    return ref ? [ref.uid] : [];
  });
}

/** JSON with object keys sorted, so equal values hash the same whatever their key order */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32 of a string */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The hash of a pod template (and the owner's collisionCount), in the form Kubernetes gives it: the decimal digits
 * of a 32-bit FNV-1a hash mapped onto an alphabet without vowels, e.g. "5d8b9c7f64".
 */
export function templateHash(template: unknown, collisionCount?: number): string {
  let s = canonicalJson(template);
  if (collisionCount) s += `#${collisionCount}`;
  return [...String(fnv32a(s))].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

/** the revision data of a template: a patch that replaces the owner's template with it */
export function revisionData(template: unknown): { spec: { template: Record<string, unknown> } } {
  return { spec: { template: { ...(structuredClone(template) as Record<string, unknown>), $patch: 'replace' } } };
}

/** the owner's revisions, oldest first */
export function ownedRevisions(revisions: Informer, ownerUid: string): KubeObject[] {
  return revisions
    .byIndex(REVISION_OWNER_INDEX, ownerUid)
    .sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0) || a.metadata.name!.localeCompare(b.metadata.name!));
}

/** the revision whose data is this template's, if any */
export function revisionOfTemplate(revisions: KubeObject[], template: unknown): KubeObject | undefined {
  const want = revisionData(template);
  return revisions.find((r) => isDeepStrictEqual(normalize(r.data), normalize(want)));
}

/** JSON round trip: what came from the API and what is built here compare equal when they mean the same */
function normalize(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(canonicalJson(v));
}

export function maxRevision(revisions: KubeObject[]): number {
  let max = 0;
  for (const r of revisions) max = Math.max(max, Number(r.revision ?? 0));
  return max;
}

/** a new ControllerRevision of an owner */
export function newRevision(
  owner: KubeObject,
  name: string,
  labels: Record<string, string>,
  template: unknown,
  revision: number,
): ControllerRevision {
  return {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels,
      ownerReferences: [
        {
          apiVersion: owner.apiVersion ?? 'apps/v1',
          kind: owner.kind!,
          name: owner.metadata.name!,
          uid: owner.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data: revisionData(template),
    revision,
  };
}

/**
 * The revisions beyond the history limit that may go: the oldest first, never one still in use (`live`: names of
 * revisions that pods or the owner's status refer to).
 */
export function revisionsToPrune(revisions: KubeObject[], live: Set<string>, historyLimit: number): KubeObject[] {
  const old = revisions.filter((r) => !live.has(r.metadata.name!));
  const excess = old.length - historyLimit;
  return excess > 0 ? old.slice(0, excess) : [];
}
