#!/usr/bin/env node
/**
 * Builds apiserver/openapi/omit-zero.json: for each definition of the model, the fields whose zero value ("", 0,
 * false) Kubernetes' Go types leave out when they encode an object. Those are the fields declared `omitempty` with a
 * non-pointer scalar type (bool, a number, string, or a named type of one of those, e.g. PodPhase or types.UID);
 * OpenAPI cannot tell them from pointer fields (replicas *int32, whose 0 is kept), so the Go sources are read.
 *
 * usage: node scripts/gen-omit-zero.mjs <k8s.io/api git repository> <k8s.io/apimachinery git repository>
 *   (bare or not; the files are read from HEAD), e.g. clones of github.com/kubernetes/api and /apimachinery
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modelFile = path.join(here, '..', 'apiserver', 'openapi', 'model.json');
const outFile = path.join(here, '..', 'apiserver', 'openapi', 'omit-zero.json');

const [apiRepo, machineryRepo] = process.argv.slice(2);
if (!apiRepo || !machineryRepo) {
  console.error('usage: node scripts/gen-omit-zero.mjs <k8s.io/api repository> <k8s.io/apimachinery repository>');
  process.exit(2);
}

const git = (repo, ...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });

/** the Go files of a package directory at HEAD, generated ones left out */
function packageSources(repo, dir) {
  return git(repo, 'ls-tree', '--name-only', `HEAD:${dir}`)
    .split('\n')
    .filter(
      (f) =>
        f.endsWith('.go') &&
        !f.endsWith('_test.go') &&
        !f.startsWith('zz_generated') &&
        !f.startsWith('generated.') &&
        !f.includes('swagger_doc'),
    )
    .map((f) => git(repo, 'show', `HEAD:${dir}/${f}`));
}

const SCALARS = new Set([
  'bool',
  'string',
  'int',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint',
  'uint8',
  'uint16',
  'uint32',
  'uint64',
  'float32',
  'float64',
]);

/** Go packages and the definition prefix their types have in the model */
const packages = [];
for (const line of git(apiRepo, 'ls-tree', '-d', '-r', '--name-only', 'HEAD').split('\n')) {
  if (/^[a-z0-9]+\/v[0-9a-z]+$/.test(line))
    packages.push({ repo: apiRepo, dir: line, prefix: `io.k8s.api.${line.replace('/', '.')}.` });
}
packages.push({ repo: machineryRepo, dir: 'pkg/apis/meta/v1', prefix: 'io.k8s.apimachinery.pkg.apis.meta.v1.' });
packages.push({ repo: machineryRepo, dir: 'pkg/types', prefix: 'io.k8s.apimachinery.pkg.types.' });

// named scalar types (type PodPhase string), by name: a field refers to them as PodPhase or v1.PodPhase
const aliases = new Set();
const structs = [];
for (const p of packages) {
  for (const src of packageSources(p.repo, p.dir)) {
    for (const m of src.matchAll(/^type (\w+) (\w+)\s*$/gm)) if (SCALARS.has(m[2])) aliases.add(m[1]);
    for (const m of src.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm))
      structs.push({ def: p.prefix + m[1], body: m[2] });
  }
}

const model = JSON.parse(fs.readFileSync(modelFile, 'utf8'));
const definitions = model.definitions ?? model;
const out = {};
for (const { def, body } of structs) {
  if (!definitions[def]) continue;
  const fields = [];
  for (const m of body.matchAll(/^\t(\w+)\s+([\w.]+)\s+`[^`]*json:"(\w+),([^"]*)"/gm)) {
    const [, , type, name, opts] = m;
    if (!opts.split(',').some((o) => o === 'omitempty' || o === 'omitzero')) continue;
    const bare = type.slice(type.lastIndexOf('.') + 1);
    if (SCALARS.has(type) || aliases.has(bare)) fields.push(name);
  }
  if (fields.length > 0) out[def] = fields.sort();
}
const sorted = Object.fromEntries(
  Object.keys(out)
    .sort()
    .map((k) => [k, out[k]]),
);
fs.writeFileSync(outFile, `${JSON.stringify(sorted, null, 1)}\n`);
console.log(`${outFile}: ${Object.keys(sorted).length} definitions, ${Object.values(sorted).flat().length} fields`);
