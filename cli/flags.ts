/**
 * The flags of a skiff command, declared once in a table (name, type, value name, default, environment variable, help
 * text); the parser here and the help (help.ts) are both built from it. Node's util.parseArgs splits the command line
 * into tokens (`--name value`, `--name=value`, `-n value`, `--`); what a token means is decided here, from the table:
 * flags and positional arguments in any order, booleans with an optional `=true|false` (and `--no-name` for those on
 * by default), lists comma separated and repeatable, the environment behind the default.
 */
import { parseArgs } from 'node:util';

interface FlagBase {
  /** what the flag does, in one sentence */
  help: string;
  /** the name of its value in help (`--data-dir DIR`); by type when absent */
  value?: string;
  /** a one-letter form (`-n`) */
  short?: string;
  /** an environment variable whose non-empty value takes the place of the default */
  env?: string;
  /**
   * `env` is read by what the value is handed to, by rules of its own (KUBECONFIG is a list of files, the first that
   * exists counts): help names it, the parser leaves the value empty
   */
  envReadByConsumer?: boolean;
}

export interface StringFlag extends FlagBase {
  type: 'string';
  default?: string;
}

export interface BooleanFlag extends FlagBase {
  type: 'boolean';
  /** when true, `--no-name` turns it off (as does `--name=false`) */
  default?: boolean;
}

/** comma-separated values; given again, the flag adds to its list (the first one given replaces the default) */
export interface ListFlag extends FlagBase {
  type: 'list';
  default?: readonly string[];
}

/** port: a whole number from 0 to 65535; count: a whole number from 1; seconds: a number above 0 */
export interface NumberFlag extends FlagBase {
  type: 'port' | 'count' | 'seconds';
  default?: number;
}

export type FlagSpec = StringFlag | BooleanFlag | ListFlag | NumberFlag;
export type FlagTable = Readonly<Record<string, FlagSpec>>;

/** the parsed value of one flag: a string flag without a value is '', a number flag without a default undefined */
export type FlagValue<F extends FlagSpec> = F extends BooleanFlag
  ? boolean
  : F extends ListFlag
    ? string[]
    : F extends NumberFlag
      ? F extends { default: number }
        ? number
        : number | undefined
      : string;

/** the parsed flags of a table, typed by it: `Flags<typeof SERVER_FLAGS>['port']` is a number */
export type Flags<T extends FlagTable> = { -readonly [K in keyof T]: FlagValue<T[K]> };

/** the positional arguments a command takes, named for help (`FILE.tar`) */
export interface Positionals {
  name: string;
  min: number;
  max: number;
}

export interface CommandLine<T extends FlagTable> {
  help: false;
  flags: Flags<T>;
  args: string[];
}

export type Parsed<T extends FlagTable> = CommandLine<T> | { help: true };

/** a command line that does not fit the command: reported with the command's name and exit code 2 */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Env = Readonly<Record<string, string | undefined>>;
type Value = string | boolean | number | string[] | undefined;

/** the table without some of its flags (a role that takes another's flags but a few) */
export function without<T extends FlagTable, K extends keyof T>(table: T, ...names: K[]): Omit<T, K> {
  const out: Record<string, FlagSpec> = { ...table };
  for (const n of names) delete out[n as string];
  return out as Omit<T, K>;
}

/** `--name VALUE`, the form help shows and errors name */
export function flagUsage(name: string, spec: FlagSpec): string {
  const flag =
    spec.type === 'boolean' ? (spec.default ? `--[no-]${name}` : `--${name}`) : `--${name} ${valueName(spec)}`;
  return spec.short ? `-${spec.short}, ${flag}` : flag;
}

export function valueName(spec: Exclude<FlagSpec, BooleanFlag>): string {
  const name =
    spec.value ?? { string: 'VALUE', list: 'VALUE', port: 'PORT', count: 'N', seconds: 'SECONDS' }[spec.type];
  return spec.type === 'list' ? `${name},...` : name;
}

/** Parses argv against the table; a UsageError says what does not fit. `--help` or `-h` anywhere asks for help. */
export function parseCommandLine<T extends FlagTable>(
  argv: readonly string[],
  table: T,
  positionals?: Positionals,
  env: Env = process.env,
): Parsed<T> {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const [name, spec] of Object.entries(table)) {
    options[name] = { type: spec.type === 'boolean' ? 'boolean' : 'string' };
    if (spec.short) options[name].short = spec.short;
  }
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  if (tokens.some((t) => t.kind === 'option' && t.name === 'help' && isKnown(t.rawName, 'help', options.help)))
    return { help: true };

  const given = new Map<string, Value>();
  const args: string[] = [];
  let previous: { name: string; spec: FlagSpec } | undefined;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      args.push(t.value);
      if (!positionals || args.length > positionals.max) throw unexpected(t.value, previous);
      previous = undefined;
      continue;
    }
    const flag = lookup(table, t.name, t.rawName);
    if (!flag) throw unknownFlag(t.rawName, table);
    const { name, spec, negated } = flag;
    const where = `flag ${t.rawName}`;
    if (spec.type === 'boolean') {
      if (negated && t.value !== undefined) throw new UsageError(`${where} takes no value`);
      given.set(name, negated ? false : t.value === undefined ? true : toBoolean(t.value, where));
    } else {
      if (t.value === undefined || (!t.inlineValue && looksLikeFlag(t.value, table)))
        throw new UsageError(
          `${where} needs a value (${valueName(spec)})` +
            (t.value === undefined ? '' : `; to give one that starts with "-" write --${name}=${t.value}`),
        );
      const v = convert(spec, t.value, where);
      const before = given.get(name);
      given.set(name, spec.type === 'list' && Array.isArray(before) && Array.isArray(v) ? [...before, ...v] : v);
    }
    previous = { name, spec };
  }
  if (positionals && args.length < positionals.min)
    throw new UsageError(`needs ${positionals.min === 1 ? 'a' : `at least ${positionals.min}`} ${positionals.name}`);

  const flags: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(table))
    flags[name] = given.has(name) ? given.get(name) : fallback(spec, env);
  return { help: false, flags: flags as Flags<T>, args };
}

function isKnown(rawName: string, name: string, spec: { short?: string }): boolean {
  return rawName === `--${name}` || (spec.short !== undefined && rawName === `-${spec.short}`);
}

function lookup(
  table: FlagTable,
  name: string,
  rawName: string,
): { name: string; spec: FlagSpec; negated: boolean } | undefined {
  const spec = Object.hasOwn(table, name) ? table[name] : undefined;
  if (spec && isKnown(rawName, name, spec)) return { name, spec, negated: false };
  if (rawName.startsWith('--no-')) {
    const positive = name.slice('no-'.length);
    const p = Object.hasOwn(table, positive) ? table[positive] : undefined;
    if (p?.type === 'boolean' && p.default) return { name: positive, spec: p, negated: true };
  }
  return undefined;
}

/** a separate value that is itself a flag is a missing value (`--data-dir --port 1`), not a directory named --port */
function looksLikeFlag(value: string, table: FlagTable): boolean {
  if (value.startsWith('--')) return true;
  return value === '-h' || Object.values(table).some((s) => s.short !== undefined && value === `-${s.short}`);
}

function fallback(spec: FlagSpec, env: Env): Value {
  const fromEnv = spec.env && !spec.envReadByConsumer ? env[spec.env] : undefined;
  if (fromEnv !== undefined && fromEnv !== '') return convert(spec, fromEnv, `$${spec.env}`);
  switch (spec.type) {
    case 'boolean':
      return spec.default ?? false;
    case 'list':
      return [...(spec.default ?? [])];
    case 'string':
      return spec.default ?? '';
    default:
      return spec.default;
  }
}

function convert(spec: FlagSpec, text: string, where: string): Value {
  switch (spec.type) {
    case 'string':
      return text;
    case 'boolean':
      return toBoolean(text, where);
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    case 'port': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535)
        throw new UsageError(`${where}: "${text}" is not a port number (0 to 65535)`);
      return n;
    }
    case 'count': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isInteger(n) || n < 1)
        throw new UsageError(`${where}: "${text}" is not a positive whole number`);
      return n;
    }
    case 'seconds': {
      const n = Number(text);
      if (!Number.isFinite(n) || n <= 0)
        throw new UsageError(`${where}: "${text}" is not a positive number of seconds`);
      return n;
    }
  }
}

function toBoolean(text: string, where: string): boolean {
  const t = text.toLowerCase();
  if (t === 'true' || t === '1' || t === 'yes') return true;
  if (t === 'false' || t === '0' || t === 'no') return false;
  throw new UsageError(`${where}: "${text}" is not true or false`);
}

function unexpected(arg: string, previous: { name: string; spec: FlagSpec } | undefined): UsageError {
  const hint =
    previous?.spec.type === 'boolean' && /^(true|false)$/i.test(arg)
      ? ` (a boolean flag takes its value after "=": --${previous.name}=${arg})`
      : '';
  return new UsageError(`unexpected argument "${arg}"${hint}`);
}

/** names every known flag: the spellings near the unknown one first, then the others in the table's order */
function unknownFlag(rawName: string, table: FlagTable): UsageError {
  const typed = rawName.replace(/^-+/, '');
  const names = Object.keys(table);
  const near = names
    .map((name) => ({ name, d: editDistance(typed, name) }))
    .filter((n) => n.d <= Math.max(2, Math.floor(n.name.length / 3)))
    .sort((a, b) => a.d - b.d)
    .map((n) => n.name);
  const known = [...near, ...names.filter((n) => !near.includes(n))].map((n) => `--${n}`);
  return new UsageError(
    `unknown flag ${rawName}${known.length ? ` (known flags: ${known.join(', ')})` : ' (it takes none)'}`,
  );
}

/** Levenshtein distance, for ordering suggestions */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length];
}
