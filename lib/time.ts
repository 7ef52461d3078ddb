/** Times as the Kubernetes API writes them. */

/** the last second formatted by rfc3339() (a write stamps several times per request, within the same second) */
let lastSecond = NaN;
let lastText = '';

/** RFC 3339 with second precision (metav1.Time); fractions are cut, not rounded, as Go's formatting does */
export function rfc3339(d: Date = new Date()): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== lastSecond) {
    lastText = d.toISOString().replace(/\.\d+Z$/, 'Z');
    lastSecond = second;
  }
  return lastText;
}

/** RFC 3339 with microseconds (metav1.MicroTime) */
export function microTime(d: Date = new Date()): string {
  return d.toISOString().replace(/Z$/, '000Z');
}
