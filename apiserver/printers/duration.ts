/**
 * Human-readable ages as kubectl shows them ("45s", "5m10s", "3h", "2d4h", "3y12d") and the timestamp helpers the
 * printers use. Durations are in milliseconds; sub-second parts are dropped, like Kubernetes does.
 */

import { rfc3339 as formatTime } from '../../lib/time.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** the zero time of Go ("0001-01-01T00:00:00Z"), which Kubernetes treats as "not set" */
const GO_ZERO_TIME = Date.parse('0001-01-01T00:00:00Z');

/**
 * Approximate a duration, keeping at most two units and coarsening as it grows. Up to 2 s in the future (clock skew)
 * reads "0s"; further in the future reads "<invalid>".
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / HOUR);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

/** a timestamp field as epoch milliseconds; undefined when absent, unparsable or Go's zero time */
export function parseTime(v: unknown): number | undefined {
  if (typeof v !== 'string' || v === '') return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t) || t === GO_ZERO_TIME) return undefined;
  return t;
}

/** the age of a timestamp field: "<unknown>" when it is not set */
export function since(v: unknown, now: number): string {
  const t = typeof v === 'number' ? v : parseTime(v);
  return t === undefined ? '<unknown>' : humanDuration(now - t);
}

/** a timestamp as RFC 3339 in UTC with whole seconds ("2024-05-01T10:00:00Z"); Go's zero time when not set */
export function rfc3339(v: unknown): string {
  const t = parseTime(v);
  if (t === undefined) return '0001-01-01T00:00:00Z';
  return formatTime(new Date(t));
}
