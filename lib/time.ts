/** Times as the Kubernetes API writes them. */

/** RFC 3339 with second precision (metav1.Time); fractions are cut, not rounded, as Go's formatting does */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** RFC 3339 with microseconds (metav1.MicroTime) */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/Z$/, '000Z');
}
