/**
 * Checks a CronJob schedule the way Kubernetes parses it (standard 5-field cron, or @hourly/@daily/... and
 * @every <duration>); returns the problem, or undefined when the schedule is usable.
 */

const FIELDS: { name: string; min: number; max: number; names?: string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  { name: 'day of week', min: 0, max: 6, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];
const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

function parseValue(s: string, f: (typeof FIELDS)[number]): number | string {
  const named = f.names?.indexOf(s.toLowerCase()) ?? -1;
  if (named >= 0) return named + f.min;
  if (!/^\d+$/.test(s))
    return `failed to parse int from ${s}: strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`;
  return Number(s);
}

function checkField(expr: string, f: (typeof FIELDS)[number]): string | undefined {
  for (const part of expr.split(',')) {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined) return `too many slashes: ${part}`;
    let lo = f.min;
    let hi = f.max;
    if (range !== '*' && range !== '?') {
      const bounds = range.split('-');
      if (bounds.length > 2) return `too many hyphens: ${part}`;
      const a = parseValue(bounds[0], f);
      if (typeof a === 'string') return a;
      lo = a;
      hi = a;
      if (bounds.length === 2) {
        const b = parseValue(bounds[1], f);
        if (typeof b === 'string') return b;
        hi = b;
      }
    }
    if (step !== undefined) {
      if (!/^\d+$/.test(step))
        return `failed to parse int from ${step}: strconv.Atoi: parsing ${JSON.stringify(step)}: invalid syntax`;
      if (Number(step) === 0) return `step of range should be a positive number: ${part}`;
    }
    if (lo < f.min) return `beginning of range (${lo}) below minimum (${f.min}): ${part}`;
    if (hi > f.max) return `end of range (${hi}) above maximum (${f.max}): ${part}`;
    if (lo > hi) return `beginning of range (${lo}) beyond end of range (${hi}): ${part}`;
  }
  return undefined;
}

export function cronScheduleError(schedule: string): string | undefined {
  const s = schedule.trim();
  if (s.startsWith('@')) {
    if (DESCRIPTORS.has(s)) return undefined;
    if (s.startsWith('@every ')) {
      return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(s.slice(7).trim())
        ? undefined
        : `failed to parse duration ${s}`;
    }
    return `unrecognized descriptor: ${s}`;
  }
  const fields = s.split(/\s+/).filter(Boolean);
  if (fields.length !== 5) return `expected exactly 5 fields, found ${fields.length}: ${schedule}`;
  for (let i = 0; i < 5; i++) {
    const err = checkField(fields[i], FIELDS[i]);
    if (err) return err;
  }
  return undefined;
}
