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
 * in Go) and omit-zero.json does not list it (an omitempty value field, left out at its zero value). The metadata of
 * a kind (a definition with a group/version/kind) is required too: it is a struct in Go, which encoding/json always
 * writes, and every object skiff reads or writes has one.
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

/** a file's text: its definitions, with the names it takes from other files imported (aliased on a clash) */
function fileText(file, names, model, omitZero) {
  const local = new Set(names.map(goName));
  const imports = new Map(); // file -> Map(name -> local alias)
  const taken = new Map(); // local alias -> definition
  const refName = (ref) => {
    if (fileOf(ref) === file) return goName(ref);
    for (const [alias, def] of taken) if (def === ref) return alias;
    let alias = goName(ref);
    if (local.has(alias) || taken.has(alias)) {
      const prefix = fileOf(ref)
        .split('-')
        .map((p) => p[0].toUpperCase() + p.slice(1))
        .join('');
      alias = prefix + alias;
    }
    taken.set(alias, ref);
    const from = fileOf(ref);
    if (!imports.has(from)) imports.set(from, new Map());
    imports.get(from).set(goName(ref), alias);
    return alias;
  };

  const typeOf = (s, where) => {
    if (s.ref) {
      if (!model.definitions[s.ref]) throw new Error(`gen-types: ${where} refers to missing ${s.ref}`);
      return refName(s.ref);
    }
    switch (s.type) {
      case 'string':
        return s.format === 'int-or-string' ? 'number | string' : 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (!s.items) return 'unknown[]';
        return arrayOf(typeOf(s.items, `${where}[]`));
      case 'object':
        if (s.properties) return `{ ${members(s, where, undefined).join(' ')} }`;
        return `Record<string, ${s.additionalProperties ? typeOf(s.additionalProperties, `${where}{}`) : 'unknown'}>`;
      default:
        return 'unknown';
    }
  };
  const arrayOf = (t) => (/^[\w.]+$/.test(t) ? `${t}[]` : `(${t})[]`);

  const members = (s, where, definition) => {
    const required = new Set(s.required ?? []);
    const zeroOmitted = new Set(omitZero[definition] ?? []);
    const isKind = (s['x-kubernetes-group-version-kind'] ?? []).length > 0;
    return Object.entries(s.properties ?? {}).map(([name, prop]) => {
      const always = (required.has(name) && !zeroOmitted.has(name)) || (isKind && name === 'metadata' && prop.ref);
      return `${propertyName(name)}${always ? '' : '?'}: ${typeOf(prop, `${where}.${name}`)};`;
    });
  };

  const body = [];
  for (const def of names) {
    const s = model.definitions[def];
    const name = goName(def);
    if (s.type === 'object' && s.properties) {
      body.push(`export interface ${name} {`, ...members(s, def, def).map((m) => `  ${m}`), '}', '');
    } else if (s.type === 'object' && !s.properties) {
      body.push(`export type ${name} = ${typeOf(s, def)};`, '');
    } else {
      body.push(`export type ${name} = ${typeOf(s, def)};`, '');
    }
  }

  const head = [
    `// Generated by scripts/gen-types.mjs from ${MODEL} (Kubernetes ${model.source}) and omit-zero.json beside it.`,
    '// Do not edit: regenerate with `node scripts/gen-types.mjs` when the model changes (see lib/kube/README.md).',
    '',
  ];
  for (const from of [...imports.keys()].sort()) {
    const parts = [...imports.get(from)]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, alias]) => (name === alias ? name : `${name} as ${alias}`));
    head.push(`import type { ${parts.join(', ')} } from './${from}.ts';`);
  }
  if (imports.size > 0) head.push('');
  return [...head, ...body].join('\n');
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
    out.set(`${f}.ts`, await prettier.format(fileText(f, byFile.get(f), model, omitZero), options));
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
