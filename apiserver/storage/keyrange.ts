/**
 * Key ranges shared by the storage drivers: a prefix P covers every key k with P <= k < prefixEnd(P).
 * Keys are compared by code point (SQLite's BINARY collation on UTF-8, etcd's byte order); skiff's keys are ASCII.
 */

/** the smallest string greater than every string starting with prefix; undefined when there is none ("" or all U+FFFF) */
export function prefixEnd(prefix: string): string | undefined {
  let end = prefix;
  while (end.length > 0) {
    const last = end.charCodeAt(end.length - 1);
    if (last < 0xffff) return end.slice(0, -1) + String.fromCharCode(last + 1);
    end = end.slice(0, -1);
  }
  return undefined;
}

/** true when a revision option asks for a read at a specific past revision rather than the latest */
export function isPinned(revision: number | undefined): revision is number {
  return revision !== undefined && revision > 0;
}
