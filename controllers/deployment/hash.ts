/**
 * pod-template-hash: a stable hash of the Deployment's pod template and its collisionCount (FNV-32a over the
 * template's canonical JSON), written in Kubernetes' safe alphabet so it never spells words or looks like a number.
 */
const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  // a null field is an absent one (as Kubernetes' typed objects serialize it: kubectl sends creationTimestamp: null)
  const keys = Object.keys(v as object)
    .filter((k) => (v as any)[k] !== undefined && (v as any)[k] !== null)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as any)[k])}`).join(',')}}`;
}

function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE[ch.charCodeAt(0) % SAFE.length];
  return out;
}

export function podTemplateHash(template: unknown, collisionCount?: number): string {
  const payload = canonicalJson(template) + (collisionCount ? `#${collisionCount}` : '');
  return safeEncode(String(fnv32a(payload)));
}

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
