/**
 * Controller revision history, as Kubernetes keeps it (pkg/controller/history, controller.ComputeHash): the hash of
 * a pod template that names Deployments' ReplicaSets (pod-template-hash) and DaemonSets' and StatefulSets'
 * ControllerRevisions (controller-revision-hash), and those ControllerRevisions. A revision's `data` is the
 * strategic merge patch that puts its template back (`kubectl rollout undo` applies it), its `revision` number orders
 * the history, and its name is "<owner>-<hash of the template>".
 *
 * The hash is FNV-1a 32 of the template's canonical JSON (object keys sorted, null fields left out) with "#<n>"
 * appended for a collisionCount n > 0, its decimal digits written in an alphabet without vowels. Kubernetes hashes
 * the typed Go object, where a null field and an absent one are the same value (kubectl sends
 * `creationTimestamp: null`), so both hash the same here too. Changing any of this renames every ReplicaSet and
 * ControllerRevision a new template gets: history.test.ts pins the hashes.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Informer } from './informer.ts';
import type { KubeObject } from './object.ts';
import type { ControllerRevision } from './types/apps-v1.ts';

/** the label naming the ControllerRevision a DaemonSet's or StatefulSet's pod was made from */
export const REVISION_HASH_LABEL = 'controller-revision-hash';

/** the ControllerRevision informer index by controlling owner uid */
export const REVISION_OWNER_INDEX = 'controller-owner-uid';

export function addRevisionOwnerIndex(revisions: Informer): void {
  revisions.addIndex(REVISION_OWNER_INDEX, (r) => {
    const ref = r.metadata.ownerReferences?.find((o) => o.controller === true);
    return ref ? [ref.uid] : [];
  });
}

/** JSON with object keys sorted and null or undefined fields left out: equal templates give equal text */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined && o[k] !== null)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** FNV-1a 32 of a string's UTF-8 bytes */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** a string in Kubernetes' safe alphabet (rand.SafeEncodeString): no vowels, so no words, and never a number */
export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}

/**
 * The hash of a pod template and its owner's collisionCount, e.g. "59bd5955b7": a ReplicaSet's pod-template-hash,
 * a ControllerRevision's controller-revision-hash.
 */
export function templateHash(template: unknown, collisionCount?: number): string {
  let s = canonicalJson(template);
  if (collisionCount) s += `#${collisionCount}`;
  return safeEncode(String(fnv32a(s)));
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
