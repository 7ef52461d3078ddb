/**
 * Label and field selectors with Kubernetes' string syntax, parsed once and matched cheaply.
 *   labels: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a, a>1, a<2
 *   fields: f=v, f==v, f!=v (comma separated, AND-ed)
 */

export type LabelOp = 'in' | 'notin' | 'exists' | '!' | '=' | '!=' | 'gt' | 'lt';

export interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

export interface LabelSelector {
  requirements: LabelRequirement[];
  /** true when the selector matches everything */
  empty: boolean;
  matches(labels: Record<string, string> | undefined): boolean;
  /** the value the selector pins for key with '=' (used for index look-ups), if any */
  equalityValue(key: string): string | undefined;
  toString(): string;
}

const KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

function checkKey(key: string): void {
  if (!key) throw new SelectorError('unable to parse requirement: key: Invalid value: "": name part must be non-empty');
  if (!KEY_RE.test(key) || key.length > 316) {
    throw new SelectorError(
      `unable to parse requirement: key: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (value.length > 63 || !VALUE_RE.test(value)) {
    throw new SelectorError(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
    );
  }
}

/** split on commas that are not inside parentheses */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

function parseRequirement(raw: string): LabelRequirement {
  const s = raw.trim();
  if (!s) throw new SelectorError('found \'\', expected: !, identifier, or \'end of string\'');
  let m = /^!\s*([^\s=!<>()]+)$/.exec(s);
  if (m) {
    checkKey(m[1]);
    return { key: m[1], op: '!', values: [] };
  }
  m = /^([^\s=!<>()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(s);
  if (m) {
    checkKey(m[1]);
    const values = m[3].split(',').map((v) => v.trim());
    if (m[2] === 'in' && values.length === 1 && values[0] === '') {
      throw new SelectorError(`for 'in', 'notin' operators, values set can't be empty`);
    }
    for (const v of values) checkValue(m[1], v);
    return { key: m[1], op: m[2] as LabelOp, values: values.filter((v, i) => values.indexOf(v) === i) };
  }
  m = /^([^\s=!<>()]+)\s*(==|=|!=|>|<)\s*([^\s=!<>(),]*)$/.exec(s);
  if (m) {
    checkKey(m[1]);
    const op = m[2];
    if (op === '>' || op === '<') {
      if (!/^-?\d+$/.test(m[3])) throw new SelectorError(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
      return { key: m[1], op: op === '>' ? 'gt' : 'lt', values: [m[3]] };
    }
    checkValue(m[1], m[3]);
    return { key: m[1], op: op === '!=' ? '!=' : '=', values: [m[3]] };
  }
  m = /^([^\s=!<>()]+)$/.exec(s);
  if (m) {
    checkKey(m[1]);
    return { key: m[1], op: 'exists', values: [] };
  }
  throw new SelectorError(`unable to parse requirement: found '${s}', expected: in, notin, =, ==, !=, gt, lt`);
}

function matchRequirement(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
  const has = labels !== undefined && Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = has ? labels![r.key] : undefined;
  switch (r.op) {
    case '=':
      return has && v === r.values[0];
    case 'in':
      return has && r.values.includes(v!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(v!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v!)) return false;
      const n = Number(v);
      const want = Number(r.values[0]);
      return r.op === 'gt' ? n > want : n < want;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.op) {
    case '=':
      return `${r.key}=${r.values[0]}`;
    case '!=':
      return `${r.key}!=${r.values[0]}`;
    case 'in':
    case 'notin':
      return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
    case 'exists':
      return r.key;
    case '!':
      return `!${r.key}`;
    case 'gt':
      return `${r.key}>${r.values[0]}`;
    case 'lt':
      return `${r.key}<${r.values[0]}`;
  }
}

function makeLabelSelector(requirements: LabelRequirement[]): LabelSelector {
  requirements.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements,
    empty: requirements.length === 0,
    matches(labels) {
      for (const r of requirements) if (!matchRequirement(r, labels)) return false;
      return true;
    },
    equalityValue(key) {
      for (const r of requirements) {
        if (r.key === key && (r.op === '=' || (r.op === 'in' && r.values.length === 1))) return r.values[0];
      }
      return undefined;
    },
    toString() {
      return requirements.map(requirementString).join(',');
    },
  };
}

/** parse a label selector string (as in ?labelSelector=); '' selects everything */
export function parseLabelSelector(s: string | undefined | null): LabelSelector {
  if (!s || !s.trim()) return makeLabelSelector([]);
  return makeLabelSelector(splitTop(s).map(parseRequirement));
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

/** a metav1.LabelSelector object as a selector; null/undefined selects nothing, {} selects everything (as Kubernetes) */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) {
    const none = makeLabelSelector([]);
    return { ...none, empty: false, matches: () => false };
  }
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op: LabelOp = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
    reqs.push({ key: e.key, op, values: [...(e.values ?? [])] });
  }
  return makeLabelSelector(reqs);
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
  empty: boolean;
  matches(fields: Record<string, string>): boolean;
  equalityValue(field: string): string | undefined;
  toString(): string;
}

function unescapeFieldValue(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

/** parse a field selector string (as in ?fieldSelector=) */
export function parseFieldSelector(s: string | undefined | null): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s && s.trim()) {
    for (const part of s.split(/(?<!\\),/)) {
      const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
      if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
      requirements.push({ field: m[1], op: m[2] === '!=' ? '!=' : '=', value: unescapeFieldValue(m[3]) });
    }
  }
  return {
    requirements,
    empty: requirements.length === 0,
    matches(fields) {
      for (const r of requirements) {
        const v = fields[r.field] ?? '';
        if (r.op === '=' ? v !== r.value : v === r.value) return false;
      }
      return true;
    },
    equalityValue(field) {
      for (const r of requirements) if (r.field === field && r.op === '=') return r.value;
      return undefined;
    },
    toString() {
      return requirements.map((r) => `${r.field}${r.op}${r.value}`).join(',');
    },
  };
}
