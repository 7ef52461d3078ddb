/**
 * Label and field selectors with Kubernetes' string syntax, parsed once and matched cheaply.
 *   labels: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a, a>1, a<2
 *   fields: f=v, f==v, f!=v (comma separated, AND-ed)
 */

import type { LabelSelector as MetaLabelSelector } from './kube/types/meta.ts';
import { isQualifiedName, isValidLabelValue } from './validation/names.ts';

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

// ---- label selector syntax: Kubernetes' lexer and parser (apimachinery labels), with their error messages ----

type Tok = 'eos' | ')' | ',' | '!' | '==' | '=' | '>' | 'ident' | 'in' | '<' | '!=' | 'notin' | '(';

const SYMBOLS = new Set(['!', '!=', '(', ')', ',', '==', '=', '>', '<']);
const isSpecial = (c: string) =>
  c === '=' || c === '!' || c === '(' || c === ')' || c === ',' || c === '>' || c === '<';
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** the selector's tokens: symbols take the longest match ('===' is '==' then '='); words are identifiers or in/notin */
function lex(s: string): Array<[Tok, string]> {
  const out: Array<[Tok, string]> = [];
  let i = 0;
  for (;;) {
    while (i < s.length && isSpace(s[i])) i++;
    if (i >= s.length) {
      out.push(['eos', '']);
      return out;
    }
    if (isSpecial(s[i])) {
      // every symbol character is a token; it extends while the longer text is one too
      let sym = s[i++];
      while (i < s.length && SYMBOLS.has(sym + s[i])) sym += s[i++];
      out.push([sym as Tok, sym]);
      continue;
    }
    let j = i;
    while (j < s.length && !isSpace(s[j]) && !isSpecial(s[j])) j++;
    const word = s.slice(i, j);
    i = j;
    out.push([word === 'in' ? 'in' : word === 'notin' ? 'notin' : 'ident', word]);
  }
}

/** Kubernetes' field.Invalid message for a list value: Go's %#v of a []string */
const goStrings = (vs: string[]) => `[]string{${vs.map((v) => JSON.stringify(v)).join(', ')}}`;

class LabelParser {
  private pos = 0;
  constructor(private readonly items: Array<[Tok, string]>) {}

  /** in a list of values, in and notin are plain words */
  private look(values: boolean): [Tok, string] {
    const [t, l] = this.items[Math.min(this.pos, this.items.length - 1)];
    return values && (t === 'in' || t === 'notin') ? ['ident', l] : [t, l];
  }

  private take(values: boolean): [Tok, string] {
    const it = this.look(values);
    if (this.pos < this.items.length - 1) this.pos++;
    return it;
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    for (;;) {
      const [t, l] = this.look(true);
      if (t === 'eos') return reqs;
      if (t !== 'ident' && t !== '!')
        throw new SelectorError(`found '${l}', expected: !, identifier, or 'end of string'`);
      try {
        reqs.push(this.requirement());
      } catch (e) {
        if (e instanceof SelectorError) throw new SelectorError(`unable to parse requirement: ${e.message}`);
        throw e;
      }
      const [t2, l2] = this.take(true);
      if (t2 === 'eos') return reqs;
      if (t2 !== ',') throw new SelectorError(`found '${l2}', expected: ',' or 'end of string'`);
      const [t3, l3] = this.look(true);
      if (t3 !== 'ident' && t3 !== '!') throw new SelectorError(`found '${l3}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let notExists = false;
    let [t, key] = this.take(true);
    if (t === '!') {
      notExists = true;
      [t, key] = this.take(true);
    }
    if (t !== 'ident') throw new SelectorError(`found '${key}', expected: identifier`);
    const keyErrs = isQualifiedName(key);
    if (keyErrs.length > 0)
      throw new SelectorError(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
    const [next] = this.look(true);
    if (notExists || next === 'eos' || next === ',') return checked(key, notExists ? '!' : 'exists', []);
    const [opTok, opLit] = this.take(false);
    let op: LabelOp;
    switch (opTok) {
      case 'in':
      case 'notin':
        op = opTok;
        return checked(key, op, this.valueList());
      case '=':
      case '==':
        op = '=';
        break;
      case '!=':
        op = '!=';
        break;
      case '>':
        op = 'gt';
        break;
      case '<':
        op = 'lt';
        break;
      default:
        throw new SelectorError(`found '${opLit}', expected: in, notin, =, ==, !=, gt, lt`);
    }
    return checked(key, op, this.exactValue());
  }

  private exactValue(): string[] {
    const [t] = this.look(true);
    if (t === 'eos' || t === ',') return [''];
    const [t2, l2] = this.take(true);
    if (t2 === 'ident') return [l2];
    throw new SelectorError(`found '${l2}', expected: identifier`);
  }

  private valueList(): string[] {
    const [t, l] = this.take(true);
    if (t !== '(') throw new SelectorError(`found '${l}' expected: '('`);
    const [t2, l2] = this.look(true);
    if (t2 === ')') {
      this.take(true);
      return [''];
    }
    if (t2 !== 'ident' && t2 !== ',') throw new SelectorError(`found '${l2}', expected: ',', ')' or identifier`);
    const values = new Set<string>();
    for (;;) {
      const [t3, l3] = this.take(true);
      if (t3 === 'ident') {
        values.add(l3);
        const [t4, l4] = this.look(true);
        if (t4 === ',') continue;
        if (t4 === ')') break;
        throw new SelectorError(`found '${l4}', expected: ',' or ')'`);
      } else if (t3 === ',') {
        if (values.size === 0) values.add('');
        const [t4] = this.look(true);
        if (t4 === ')') {
          values.add('');
          break;
        }
        if (t4 === ',') {
          this.take(true);
          values.add('');
        }
      } else {
        throw new SelectorError(`found '${l3}', expected: ',', or identifier`);
      }
    }
    // Kubernetes reports the token it looked at before the list when the list does not end with ')'
    const [t5] = this.take(true);
    if (t5 !== ')') throw new SelectorError(`found '${l2}', expected: ')'`);
    return [...values].sort();
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A decimal integer as Go's strconv.ParseInt(s, 10, 64) reads it (an optional sign, digits, within 64 bits), or
 * undefined: the numbers of the Gt and Lt operators, in selectors and node affinity alike.
 */
export function parseInt64(s: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const v = BigInt(s);
  return v >= INT64_MIN && v <= INT64_MAX ? v : undefined;
}

/**
 * A requirement as Kubernetes' labels.NewRequirement makes one: the key a qualified name, then the checks of its
 * operator and values; throws SelectorError with Kubernetes' words otherwise.
 */
export function newLabelRequirement(key: string, op: LabelOp, values: string[]): LabelRequirement {
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length > 0) throw new SelectorError(`key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join('; ')}`);
  return checked(key, op, values);
}

/** Kubernetes' NewRequirement checks: one value for the exact operators, integers for gt and lt, valid label values */
function checked(key: string, op: LabelOp, values: string[]): LabelRequirement {
  const errs: string[] = [];
  if ((op === 'in' || op === 'notin') && values.length === 0)
    errs.push(`values: Invalid value: ${goStrings(values)}: for 'in', 'notin' operators, values set can't be empty`);
  if ((op === '=' || op === '!=') && values.length !== 1)
    errs.push(`values: Invalid value: ${goStrings(values)}: exact-match compatibility requires one single value`);
  if ((op === 'exists' || op === '!') && values.length !== 0)
    errs.push(`values: Invalid value: ${goStrings(values)}: values set must be empty for exists and does not exist`);
  if (op === 'gt' || op === 'lt') {
    if (values.length !== 1)
      errs.push(`values: Invalid value: ${goStrings(values)}: for 'Gt', 'Lt' operators, exactly one value is required`);
    values.forEach((v, i) => {
      if (parseInt64(v) === undefined)
        errs.push(
          `values[${i}]: Invalid value: ${JSON.stringify(v)}: for 'Gt', 'Lt' operators, the value must be an integer`,
        );
    });
  }
  values.forEach((v, i) => {
    const vErrs = isValidLabelValue(v);
    if (vErrs.length > 0) errs.push(`values[${i}][${key}]: Invalid value: ${JSON.stringify(v)}: ${vErrs.join('; ')}`);
  });
  if (errs.length === 1) throw new SelectorError(errs[0]);
  if (errs.length > 1) throw new SelectorError(`[${errs.join(', ')}]`);
  return { key, op, values };
}

/** whether labels satisfy one requirement (labels.Requirement.Matches) */
export function labelRequirementMatches(r: LabelRequirement, labels: Record<string, string> | undefined): boolean {
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
      // a label value or a requirement value that is not a 64-bit integer matches neither
      const n = has ? parseInt64(v!) : undefined;
      const want = r.values.length === 1 ? parseInt64(r.values[0]) : undefined;
      if (n === undefined || want === undefined) return false;
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
      for (const r of requirements) if (!labelRequirementMatches(r, labels)) return false;
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
  return makeLabelSelector(new LabelParser(lex(s)).parse());
}

/** a metav1.LabelSelector object (matchLabels, matchExpressions with operator In, NotIn, Exists or DoesNotExist) */
export type LabelSelectorObject = MetaLabelSelector;

/**
 * a metav1.LabelSelector object as a selector; null/undefined selects nothing, {} selects everything (as Kubernetes);
 * an operator other than In, NotIn and Exists reads as DoesNotExist (validation lets no other through)
 */
export function labelSelectorFromObject(sel: LabelSelectorObject | null | undefined): LabelSelector {
  if (sel === null || sel === undefined) {
    const none = makeLabelSelector([]);
    return { ...none, empty: false, matches: () => false };
  }
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) reqs.push({ key: k, op: '=', values: [v] });
  for (const e of sel.matchExpressions ?? []) {
    const op: LabelOp =
      e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : '!';
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

/** a field selector value with its escapes (\\, \, and \=) undone; a bare , or = is an error, as in Kubernetes */
function unescapeFieldValue(v: string): string {
  if (!/[\\,=]/.test(v)) return v;
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const n = v[i + 1];
      if (n === undefined) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
      if (n !== '\\' && n !== ',' && n !== '=')
        throw new SelectorError(`invalid field selector: invalid escape sequence: \\${n}`);
      out += n;
      i++;
    } else if (c === ',' || c === '=') {
      throw new SelectorError(`invalid field selector: unescaped character in value: ${c}`);
    } else out += c;
  }
  return out;
}

/** the terms of a field selector: split on commas that are not escaped */
function splitFieldTerms(s: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ',') {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** parse a field selector string (as in ?fieldSelector=), as Kubernetes' fields.ParseSelector does (no trimming) */
export function parseFieldSelector(s: string | undefined | null): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s) {
    for (const term of splitFieldTerms(s).sort()) {
      if (term === '') continue;
      // the first operator from the left: != before == before = at each position
      const m = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
      if (!m) throw new SelectorError(`invalid selector: '${s}'; can't understand '${term}'`);
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
