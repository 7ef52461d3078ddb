#!/usr/bin/env node
/**
 * Builds the TypeScript types of the API objects in lib/kube/types/ from the API model skiff serves
 * (apiserver/openapi/model.json) and the Go encoding facts beside it (apiserver/openapi/omit-zero.json).
 *
 * One file per API group/version (core-v1.ts, apps-v1.ts, ...), plus meta.ts for apimachinery's types (meta/v1 and
 * the scalar types Quantity, IntOrString, RawExtension). Each definition becomes an interface named as its Go type;
 * a scalar definition a type alias (Time = string, as on the wire).
 *
 * Optionality follows what Go writes: a field is required only when the model lists it as required (no omitempty
 * in Go) and omit-zero.json does not list it (an omitempty value field, left out at its zero value). The ObjectMeta
 * of a kind (a definition with a group/version/kind) is required too: it is a struct in Go, which encoding/json always
 * writes, and every object skiff reads or writes has one (lib/kube/object.ts's KubeObject requires it).
 *
 * usage: node scripts/gen-types.mjs          writes the files
 *        node scripts/gen-types.mjs --check  exits 1 when a file differs from what the model gives
 * The unit test lib/kube/types/types.test.ts runs generate() and compares, so the files never drift from the model.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const OUT_DIR = path.join(root, 'lib', 'kube', 'types');
const MODEL = 'apiserver/openapi/model.json';
const OMIT_ZERO = 'apiserver/openapi/omit-zero.json';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';

/** the Go package of a definition and the file its types go to */
function fileOf(definition) {
  const pkg = definition.slice(0, definition.lastIndexOf('.'));
  let m = /^io\.k8s\.api\.([a-z0-9]+)\.(v[0-9a-z]+)$/.exec(pkg);
  if (m) return `${m[1]}-${m[2]}`;
  if (pkg.startsWith('io.k8s.apimachinery.')) return 'meta';
  m = /^io\.k8s\.metrics\.pkg\.apis\.([a-z0-9]+)\.(v[0-9a-z]+)$/.exec(pkg);
  if (m) return `${m[1]}-${m[2]}`;
  throw new Error(`gen-types: no file for the package of ${definition}`);
}

const goName = (definition) => definition.slice(definition.lastIndexOf('.') + 1);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const propertyName = (name) => (IDENTIFIER.test(name) ? name : JSON.stringify(name));

/** one generated file: its definitions, with the names it takes from other files imported (aliased on a clash) */
class TypeFile {
  constructor(file, definitions, model, omitZero) {
    this.file = file;
    this.definitions = definitions;
    this.model = model;
    this.omitZero = omitZero;
    this.local = new Set(definitions.map(goName));
    /** file -> Map(name -> local alias) */
    this.imports = new Map();
    /** local alias -> definition */
    this.taken = new Map();
  }

  /** the name a referenced definition has in this file */
  refName(ref) {
    const from = fileOf(ref);
    if (from === this.file) return goName(ref);
    for (const [alias, def] of this.taken) if (def === ref) return alias;
    let alias = goName(ref);
    if (this.local.has(alias) || this.taken.has(alias)) {
      const prefix = from
        .split('-')
        .map((p) => p[0].toUpperCase() + p.slice(1))
        .join('');
      alias = prefix + alias;
    }
    this.taken.set(alias, ref);
    if (!this.imports.has(from)) this.imports.set(from, new Map());
    this.imports.get(from).set(goName(ref), alias);
    return alias;
  }

  typeOf(s, where) {
    if (s.ref) {
      if (!this.model.definitions[s.ref]) throw new Error(`gen-types: ${where} refers to missing ${s.ref}`);
      return this.refName(s.ref);
    }
    switch (s.type) {
      case 'string':
        return s.format === 'int-or-string' ? 'number | string' : 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array': {
        if (!s.items) return 'unknown[]';
        const item = this.typeOf(s.items, `${where}[]`);
        return /^[\w.]+$/.test(item) ? `${item}[]` : `(${item})[]`;
      }
      case 'object':
        if (s.properties) return `{ ${this.members(s, where, undefined).join(' ')} }`;
        if (!s.additionalProperties) return 'Record<string, unknown>';
        return `Record<string, ${this.typeOf(s.additionalProperties, `${where}{}`)}>`;
      default:
        return 'unknown';
    }
  }

  /** the properties of an object schema, optional unless Go always writes them */
  members(s, where, definition) {
    const required = new Set(s.required ?? []);
    const zeroOmitted = new Set(this.omitZero[definition] ?? []);
    const isKind = (s['x-kubernetes-group-version-kind'] ?? []).length > 0;
    return Object.entries(s.properties ?? {}).map(([name, prop]) => {
      const always =
        (required.has(name) && !zeroOmitted.has(name)) || (isKind && name === 'metadata' && prop.ref === OBJECT_META);
      return `${propertyName(name)}${always ? '' : '?'}: ${this.typeOf(prop, `${where}.${name}`)};`;
    });
  }

  text() {
    const body = [];
    for (const def of this.definitions) {
      const s = this.model.definitions[def];
      if (s.type === 'object' && s.properties) {
        body.push(`export interface ${goName(def)} {`, ...this.members(s, def, def).map((m) => `  ${m}`), '}', '');
      } else {
        body.push(`export type ${goName(def)} = ${this.typeOf(s, def)};`, '');
      }
    }
    const head = [
      `// Generated by scripts/gen-types.mjs from ${MODEL} (Kubernetes ${this.model.source}) and omit-zero.json beside it.`,
      '// Do not edit: regenerate with `node scripts/gen-types.mjs` when the model changes (see lib/kube/README.md).',
      '',
    ];
    for (const from of [...this.imports.keys()].sort()) {
      const parts = [...this.imports.get(from)]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([name, alias]) => (name === alias ? name : `${name} as ${alias}`));
      head.push(`import type { ${parts.join(', ')} } from './${from}.ts';`);
    }
    if (this.imports.size > 0) head.push('');
    return [...head, ...body].join('\n');
  }
}

/** every generated file, formatted as prettier formats the tree: file name -> text */
export async function generate() {
  const model = JSON.parse(fs.readFileSync(path.join(root, MODEL), 'utf8'));
  const omitZero = JSON.parse(fs.readFileSync(path.join(root, OMIT_ZERO), 'utf8'));
  const byFile = new Map();
  for (const def of Object.keys(model.definitions).sort()) {
    const f = fileOf(def);
    if (!byFile.has(f)) byFile.set(f, []);
    byFile.get(f).push(def);
  }
  for (const [f, defs] of byFile) {
    const names = defs.map(goName);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) throw new Error(`gen-types: two definitions named ${dup} go to ${f}.ts`);
  }
  const prettier = await import('prettier');
  const options = { ...(await prettier.resolveConfig(path.join(OUT_DIR, 'x.ts'))), parser: 'typescript' };
  const out = new Map();
  for (const f of [...byFile.keys()].sort()) {
    const text = new TypeFile(f, byFile.get(f), model, omitZero).text();
    out.set(`${f}.ts`, await prettier.format(text, options));
  }
  return out;
}

async function main() {
  const check = process.argv.includes('--check');
  const files = await generate();
  const stale = [];
  for (const [name, text] of files) {
    const p = path.join(OUT_DIR, name);
    const current = fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
    if (current === text) continue;
    stale.push(name);
    if (!check) {
      fs.mkdirSync(OUT_DIR, { recursive: true });
      fs.writeFileSync(p, text);
    }
  }
  const rel = path.relative(process.cwd(), OUT_DIR) || '.';
  if (check && stale.length > 0) {
    console.error(`gen-types: ${stale.join(', ')} in ${rel} differ from the model: run node scripts/gen-types.mjs`);
    process.exit(1);
  }
  console.log(`gen-types: ${files.size} files in ${rel}, ${check ? 'up to date' : `${stale.length} written`}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
