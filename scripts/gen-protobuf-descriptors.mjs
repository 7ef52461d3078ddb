#!/usr/bin/env node
/**
 * Builds apiserver/protobuf/descriptors.json: the protobuf wire layout and JSON field names of the Kubernetes
 * kinds skiff serves (read from the resource registry), a few extra roots, and every message they reach.
 * The facts come from the Go struct tags of the k8s.io/api and k8s.io/apimachinery sources, read from local
 * git mirrors (no work tree needed).
 *
 * usage: node --import tsx scripts/gen-protobuf-descriptors.mjs [api-git-dir] [apimachinery-git-dir]
 *
 * descriptors.json:
 *   kinds:    { "<apiVersion>/<Kind>": "<pkg>.<Message>" }   (core kinds use "v1/<Kind>")
 *   messages: { "<pkg>.<Message>": { fields: Field[] } }     fields in Go declaration order (= JSON key order)
 *   Field:    { go, num, json (null when embedded inline), wire, omitempty, omitzero?, pointer?, repeated?,
 *               type?, map?: { key, value } }
 *   type:     a scalar ("string" | "bool" | "int32" | "int64" | "uint32" | "uint64" | "float64" | "bytes"),
 *             a message name ("core/v1.PodSpec") or a type with its own JSON form ("@Time", "@MicroTime",
 *             "@Duration", "@Quantity", "@IntOrString", "@RawExtension", "@FieldsV1")
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESOURCES } from '../apiserver/api/registry.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const outFile = path.join(here, '..', 'apiserver', 'protobuf', 'descriptors.json');
const apiRepo = process.argv[2] ?? '/work/.mirror/kubernetes+api/repo';
const machineryRepo = process.argv[3] ?? '/work/.mirror/kubernetes+apimachinery/repo';

/** kinds decoded besides the registry's: [apiVersion, kind] */
const EXTRA_KINDS = [
  ['v1', 'Binding'],
  ['autoscaling/v1', 'Scale'],
  ['autoscaling/v1', 'HorizontalPodAutoscaler'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['batch/v1', 'Job'],
  ['batch/v1', 'CronJob'],
  ['policy/v1', 'Eviction'],
  ['policy/v1', 'PodDisruptionBudget'],
  ['authentication.k8s.io/v1', 'TokenRequest'],
];
/** meta kinds, accepted under any apiVersion */
const META_KINDS = ['DeleteOptions', 'Status', 'Preconditions'];
const EXTRA_MESSAGES = [
  'meta/v1.ObjectMeta',
  'meta/v1.ListMeta',
  'meta/v1.OwnerReference',
  'meta/v1.ManagedFieldsEntry',
  'meta/v1.LabelSelector',
  'meta/v1.LabelSelectorRequirement',
  'meta/v1.DeleteOptions',
  'meta/v1.Preconditions',
  'meta/v1.Status',
  'meta/v1.Condition',
];

const API_PREFIX = 'k8s.io/api/';
const MACHINERY_PREFIX = 'k8s.io/apimachinery/';

/** Go types that have their own protobuf message and JSON form */
const SPECIAL = new Map([
  ['k8s.io/apimachinery/pkg/apis/meta/v1.Time', '@Time'],
  ['k8s.io/apimachinery/pkg/apis/meta/v1.MicroTime', '@MicroTime'],
  ['k8s.io/apimachinery/pkg/apis/meta/v1.Duration', '@Duration'],
  ['k8s.io/apimachinery/pkg/apis/meta/v1.FieldsV1', '@FieldsV1'],
  ['k8s.io/apimachinery/pkg/api/resource.Quantity', '@Quantity'],
  ['k8s.io/apimachinery/pkg/util/intstr.IntOrString', '@IntOrString'],
  ['k8s.io/apimachinery/pkg/runtime.RawExtension', '@RawExtension'],
]);
const SCALARS = new Set(['string', 'bool', 'int32', 'int64', 'uint32', 'uint64', 'float64', 'int', 'byte']);

/** where a Go package's sources live: [git dir, folder] */
function packageLocation(importPath) {
  if (importPath.startsWith(API_PREFIX)) return [apiRepo, importPath.slice(API_PREFIX.length)];
  if (importPath.startsWith(MACHINERY_PREFIX)) return [machineryRepo, importPath.slice(MACHINERY_PREFIX.length)];
  throw new Error(`no source known for Go package ${importPath}`);
}

/** short message prefix of a package: k8s.io/api/core/v1 → core/v1, .../pkg/apis/meta/v1 → meta/v1 */
function packageShortName(importPath) {
  if (importPath.startsWith(API_PREFIX)) return importPath.slice(API_PREFIX.length);
  const m = /pkg\/apis\/(.+)$/.exec(importPath);
  if (m) return m[1];
  return importPath.slice(MACHINERY_PREFIX.length);
}

function git(repo, ...args) {
  return execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** drop a `//` comment that is outside quotes and backticks */
function stripLineComment(line) {
  let quote = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === '`') quote = c;
    else if (c === '/' && line[i + 1] === '/') return line.slice(0, i);
  }
  return line;
}

/** one Go struct tag → { key: value } */
function parseTag(tag) {
  const out = {};
  for (const m of tag.matchAll(/(\w+):"([^"]*)"/g)) out[m[1]] = m[2];
  return out;
}

/**
 * Reads the Go sources of one package: its imports (alias → path), structs (name → raw fields) and other
 * named types (name → underlying type expression).
 */
function parsePackage(importPath) {
  const [repo, dir] = packageLocation(importPath);
  const files = git(repo, 'ls-tree', '--name-only', 'HEAD', `${dir}/`)
    .split('\n')
    .filter(
      (f) =>
        f.endsWith('.go') &&
        !f.endsWith('_test.go') &&
        !/(^|\/)(zz_generated|generated\.pb|.*_swagger_doc_generated)/.test(f),
    );
  const pkg = { importPath, structs: new Map(), named: new Map(), imports: new Map() };
  for (const file of files) parseFile(git(repo, 'show', `HEAD:${file}`), pkg, file);
  return pkg;
}

function parseFile(text, pkg, file) {
  const lines = text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .split('\n')
    .map(stripLineComment);
  const imports = new Map();
  let i = 0;
  const addImport = (spec) => {
    const m = /^\s*(?:([\w.]+)\s+)?"([^"]+)"\s*$/.exec(spec);
    if (!m) return;
    const alias = m[1] ?? m[2].split('/').pop();
    imports.set(alias, m[2]);
  };
  let groupedType = false;
  for (; i < lines.length; i++) {
    const line = lines[i];
    if (/^import \($/.test(line)) {
      for (i++; i < lines.length && lines[i].trim() !== ')'; i++) addImport(lines[i]);
      continue;
    }
    const single = /^import (.+)$/.exec(line);
    if (single) {
      addImport(single[1]);
      continue;
    }
    if (/^type \($/.test(line)) {
      groupedType = true;
      continue;
    }
    if (groupedType && line.trim() === ')') {
      groupedType = false;
      continue;
    }
    const decl = groupedType ? /^\s*(\w+)\s+(=\s*)?(.+?)\s*$/.exec(line) : /^type (\w+)\s+(=\s*)?(.+?)\s*$/.exec(line);
    if (!decl) continue;
    const [, name, , rhs] = decl;
    if (rhs === 'struct {') {
      const fields = [];
      for (i++; i < lines.length && !/^\s*}\s*$/.test(lines[i]); i++) {
        const f = parseFieldLine(lines[i], `${file}:${i + 1}`);
        if (f) fields.push(f);
      }
      pkg.structs.set(name, { fields, imports });
    } else if (rhs === 'struct{}') {
      pkg.structs.set(name, { fields: [], imports });
    } else if (!rhs.startsWith('interface') && !rhs.startsWith('func')) {
      pkg.named.set(name, { expr: rhs, imports });
    }
  }
  for (const [k, v] of imports) pkg.imports.set(k, v);
}

/** one struct field line → { name?, type, tag } (name is absent for an embedded field) */
function parseFieldLine(line, where) {
  const trimmed = line.trim();
  if (!trimmed) return undefined;
  const m = /^([^`]+?)\s*(`[^`]*`)?$/.exec(trimmed);
  if (!m) throw new Error(`cannot read struct field at ${where}: ${trimmed}`);
  const parts = m[1].split(/\s+/);
  if (parts.length > 2) throw new Error(`unsupported struct field at ${where}: ${trimmed}`);
  const tag = parseTag(m[2] ?? '');
  return parts.length === 1 ? { type: parts[0], tag } : { name: parts[0], type: parts[1], tag };
}

const packages = new Map();
function loadPackage(importPath) {
  let pkg = packages.get(importPath);
  if (!pkg) {
    pkg = parsePackage(importPath);
    packages.set(importPath, pkg);
  }
  return pkg;
}

const messages = new Map();
const pending = [];

/** queue a struct for description and return its message name */
function messageRef(importPath, name) {
  const full = `${packageShortName(importPath)}.${name}`;
  if (!messages.has(full)) {
    messages.set(full, null);
    pending.push([importPath, name, full]);
  }
  return full;
}

/**
 * Resolves a Go type expression as seen from `importPath` with the file's `imports` into
 * { type } | { repeated, type } | { map: { key, value } }, each with `pointer` when it was a pointer.
 */
function resolveType(expr, importPath, imports, where) {
  if (expr.startsWith('*')) {
    const inner = resolveType(expr.slice(1), importPath, imports, where);
    if (inner.pointer) throw new Error(`double pointer at ${where}`);
    return { ...inner, pointer: true };
  }
  if (expr === '[]byte') return { type: 'bytes' };
  if (expr.startsWith('[]')) {
    const elem = resolveType(expr.slice(2), importPath, imports, where);
    if (elem.repeated || elem.map || elem.pointer) throw new Error(`unsupported slice element ${expr} at ${where}`);
    return { repeated: true, type: elem.type };
  }
  if (expr.startsWith('map[')) {
    let depth = 0;
    let end = 3;
    for (; end < expr.length; end++) {
      if (expr[end] === '[') depth++;
      else if (expr[end] === ']' && --depth === 0) break;
    }
    const key = resolveType(expr.slice(4, end), importPath, imports, where);
    const valueExpr = expr.slice(end + 1);
    let value = resolveType(valueExpr, importPath, imports, where);
    if (value.repeated && /^[\w.]+$/.test(valueExpr))
      value = { type: listWrapper(valueExpr, importPath, imports, value.type) };
    if (key.repeated || key.map || key.pointer || value.repeated || value.map || value.pointer) {
      throw new Error(`unsupported map ${expr} at ${where}`);
    }
    return { map: { key: key.type, value: value.type } };
  }
  if (SCALARS.has(expr)) {
    if (expr === 'int' || expr === 'byte') throw new Error(`Go type ${expr} has no fixed protobuf width at ${where}`);
    return { type: expr };
  }
  let pkgPath = importPath;
  let name = expr;
  const dot = expr.indexOf('.');
  if (dot >= 0) {
    const alias = expr.slice(0, dot);
    name = expr.slice(dot + 1);
    pkgPath = imports.get(alias);
    if (!pkgPath) throw new Error(`unknown package ${alias} at ${where}`);
  }
  const special = SPECIAL.get(`${pkgPath}.${name}`);
  if (special) return { type: special };
  const pkg = loadPackage(pkgPath);
  if (pkg.structs.has(name)) return { type: messageRef(pkgPath, name) };
  const named = pkg.named.get(name);
  if (named) return resolveType(named.expr, pkgPath, named.imports, `${pkgPath}.${name}`);
  throw new Error(`type ${name} not found in ${pkgPath} (at ${where})`);
}

/**
 * A named slice type used as a map value travels as a message holding `repeated items = 1`;
 * its JSON form is the plain list (messages marked `list`).
 */
function listWrapper(valueExpr, importPath, imports, elemType) {
  const dot = valueExpr.indexOf('.');
  const pkgPath = dot < 0 ? importPath : imports.get(valueExpr.slice(0, dot));
  const full = `${packageShortName(pkgPath)}.${valueExpr.slice(dot + 1)}`;
  if (!messages.has(full)) {
    messages.set(full, {
      list: true,
      fields: [
        { go: 'Items', num: 1, json: 'items', wire: WIRE_OF[elemType] ?? 'bytes', repeated: true, type: elemType },
      ],
    });
  }
  return full;
}

const WIRE_OF = {
  string: 'bytes',
  bytes: 'bytes',
  bool: 'varint',
  int32: 'varint',
  int64: 'varint',
  uint32: 'varint',
  uint64: 'varint',
  float64: 'fixed64',
};

/** the package's generated.proto, as message → (field number → { name, kind }) */
const protoFiles = new Map();
function protoMessages(importPath) {
  let found = protoFiles.get(importPath);
  if (found) return found;
  found = new Map();
  const [repo, dir] = packageLocation(importPath);
  let text = '';
  try {
    text = git(repo, 'show', `HEAD:${dir}/generated.proto`);
  } catch {
    // packages without a .proto are checked by their tags alone
  }
  let current;
  for (const line of text.split('\n')) {
    const open = /^message (\w+) \{/.exec(line);
    if (open) {
      current = new Map();
      found.set(open[1], current);
      continue;
    }
    const f = /^\s+(optional|repeated)?\s*([\w.<>, ]+?)\s+(\w+) = (\d+);/.exec(line);
    if (f && current)
      current.set(Number(f[4]), { name: f[3], kind: f[2], repeated: f[1] === 'repeated' || f[2].startsWith('map<') });
  }
  protoFiles.set(importPath, found);
  return found;
}

/** the generated .proto is the wire contract: a field's number and shape must agree with it */
function checkAgainstProto(importPath, message, field, tagName, where) {
  const proto = protoMessages(importPath).get(message);
  if (!proto) return;
  const pf = proto.get(field.num);
  if (!pf) throw new Error(`field ${where}: number ${field.num} is not in ${message} of generated.proto`);
  if (tagName && pf.name !== tagName)
    throw new Error(`field ${where}: number ${field.num} is ${pf.name} in generated.proto, tag says ${tagName}`);
  if (pf.repeated !== Boolean(field.repeated || field.map))
    throw new Error(`field ${where}: repeated-ness differs from generated.proto`);
  const protoWire =
    { bool: 'varint', int32: 'varint', int64: 'varint', uint32: 'varint', uint64: 'varint', double: 'fixed64' }[
      pf.kind
    ] ?? 'bytes';
  if (!field.map && protoWire !== field.wire)
    throw new Error(`field ${where}: wire ${field.wire} but generated.proto has ${pf.kind}`);
}

function describe(importPath, name, full) {
  const struct = loadPackage(importPath).structs.get(name);
  const fields = [];
  for (const raw of struct.fields) {
    const where = `${full}.${raw.name ?? raw.type}`;
    if (!raw.tag.protobuf) {
      const embeddedTypeMeta = !raw.name && /(^|\.)TypeMeta$/.test(raw.type);
      const hiddenFromJson = raw.tag.json === '-';
      if (!embeddedTypeMeta && !hiddenFromJson) throw new Error(`field ${where} has no protobuf tag`);
      continue;
    }
    const [wire, num, ...opts] = raw.tag.protobuf.split(',');
    const label = opts.find((o) => o === 'opt' || o === 'rep' || o === 'req') ?? 'opt';
    const jsonParts = (raw.tag.json ?? '').split(',');
    const jsonName = jsonParts[0] || (raw.name ? raw.name : null);
    if (jsonName === '-') continue;
    const resolved = resolveType(raw.type, importPath, struct.imports, where);
    const expectedWire = resolved.map ? 'bytes' : (WIRE_OF[resolved.type] ?? 'bytes');
    if (wire !== expectedWire) {
      console.warn(
        `note: field ${where}: tag says wire ${wire}, Go type ${raw.type} is written as ${expectedWire}; using the Go type`,
      );
    }
    const field = {
      go: raw.name ?? raw.type.replace(/^\*?(\w+\.)?/, ''),
      num: Number(num),
      json: jsonName,
      wire: expectedWire,
    };
    if (jsonParts.includes('omitempty')) field.omitempty = true;
    if (jsonParts.includes('omitzero')) field.omitzero = true;
    if (resolved.pointer) field.pointer = true;
    if (resolved.repeated) field.repeated = true;
    if (resolved.map) field.map = resolved.map;
    else field.type = resolved.type;
    if ((label === 'rep') !== Boolean(resolved.repeated || resolved.map)) {
      // the Go type decides the wire shape; a few upstream tags carry a stale label
      console.warn(`note: field ${where}: tag label ${label} differs from Go type ${raw.type}; using the Go type`);
    }
    if (!Number.isInteger(field.num) || field.num <= 0) throw new Error(`field ${where}: bad field number ${num}`);
    const protoName = opts.find((o) => o.startsWith('name='))?.slice(5);
    checkAgainstProto(importPath, name, field, protoName, where);
    fields.push(field);
  }
  messages.set(full, { fields });
}

function packageOfApiVersion(apiVersion) {
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
  return `${API_PREFIX}${group === '' ? 'core' : group.split('.')[0]}/${version}`;
}

const kinds = {};
// the resource metrics API's types live in k8s.io/metrics, not k8s.io/api; their writers (the node agents) send JSON
const OUTSIDE_API_MODULE = new Set(['metrics.k8s.io']);
const roots = [
  ...RESOURCES.filter((r) => !OUTSIDE_API_MODULE.has(r.group)).map((r) => [
    r.group ? `${r.group}/${r.version}` : r.version,
    r.kind,
  ]),
  ...EXTRA_KINDS,
];
for (const [apiVersion, kind] of roots) {
  const importPath = packageOfApiVersion(apiVersion);
  if (!loadPackage(importPath).structs.has(kind)) throw new Error(`kind ${kind} not found in ${importPath}`);
  kinds[`${apiVersion}/${kind}`] = messageRef(importPath, kind);
}
const metaPath = `${MACHINERY_PREFIX}pkg/apis/meta/v1`;
for (const kind of META_KINDS) kinds[`*/${kind}`] = messageRef(metaPath, kind);
for (const full of EXTRA_MESSAGES) messageRef(metaPath, full.slice(full.indexOf('.') + 1));

while (pending.length) describe(...pending.shift());

const sorted = Object.fromEntries([...messages.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const sources = {
  'k8s.io/api': git(apiRepo, 'rev-parse', 'HEAD').trim(),
  'k8s.io/apimachinery': git(machineryRepo, 'rev-parse', 'HEAD').trim(),
};
fs.mkdirSync(path.dirname(outFile), { recursive: true });
fs.writeFileSync(outFile, JSON.stringify({ sources, kinds, messages: sorted }, null, 1) + '\n');
console.log(`wrote ${outFile}: ${Object.keys(kinds).length} kinds, ${messages.size} messages`);
