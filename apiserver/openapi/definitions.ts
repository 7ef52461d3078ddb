/**
 * The API model (model.json, built by scripts/gen-openapi-model.mjs): loading, lookup by name and by
 * group/version/kind, the closure of definitions a set of roots references, and rendering a model schema
 * in the OpenAPI v2 or v3 form (references as '#/definitions/x' or '#/components/schemas/x').
 */
import fs from 'node:fs';
import type { GVK, Model, Schema } from './model.ts';

const MODEL_URL = new URL('./model.json', import.meta.url);

let model: Model | undefined;
let byGvk: Map<string, string> | undefined;
/** definitions added while the server runs (the kinds of custom resources), over the model's */
const added = new Map<string, Schema>();

/** serve a definition the model does not have (or another schema for one it has) until it is removed */
export function addDefinition(name: string, schema: Schema): void {
  added.set(name, schema);
  byGvk = undefined;
}

export function removeDefinition(name: string): void {
  if (added.delete(name)) byGvk = undefined;
}

function gvkKey(gvk: GVK): string {
  return `${gvk.group}/${gvk.version}/${gvk.kind}`;
}

/** the API model, read once */
export function loadModel(): Model {
  if (!model) {
    let text: string;
    try {
      text = fs.readFileSync(MODEL_URL, 'utf8');
    } catch (e) {
      throw new Error(
        `cannot read the API model ${MODEL_URL.pathname} (${(e as Error).message}); regenerate it with scripts/gen-openapi-model.mjs`,
        { cause: e },
      );
    }
    const parsed = JSON.parse(text) as Model;
    if (!parsed.definitions || typeof parsed.definitions !== 'object') {
      throw new Error(
        `the API model ${MODEL_URL.pathname} has no definitions; regenerate it with scripts/gen-openapi-model.mjs`,
      );
    }
    model = parsed;
  }
  return model;
}

/** the schema of a definition, e.g. resolve('io.k8s.api.core.v1.PodSpec') */
export function resolve(name: string): Schema | undefined {
  if (added.size > 0) {
    const schema = added.get(name);
    if (schema) return schema;
  }
  const defs = loadModel().definitions;
  return Object.hasOwn(defs, name) ? defs[name] : undefined;
}

/** the definition whose x-kubernetes-group-version-kind lists this group/version/kind */
export function definitionFor(gvk: GVK): string | undefined {
  if (!byGvk) {
    const index = new Map<string, string>();
    for (const [name, schema] of [...added, ...Object.entries(loadModel().definitions)]) {
      for (const g of schema['x-kubernetes-group-version-kind'] ?? []) {
        // a kind listed by several definitions keeps the first (names are sorted, so this is stable)
        if (!index.has(gvkKey(g))) index.set(gvkKey(g), name);
      }
    }
    byGvk = index;
  }
  return byGvk.get(gvkKey(gvk));
}

/** every definition name referenced, directly or not, from the given roots (roots included), sorted */
export function referencedDefinitions(roots: Iterable<string>): string[] {
  const seen = new Set<string>();
  const queue: string[] = [];
  const visit = (name: string) => {
    if (seen.has(name)) return;
    if (!resolve(name)) throw new Error(`the API model has no definition ${name}`);
    seen.add(name);
    queue.push(name);
  };
  for (const r of roots) visit(r);
  const walk = (s: Schema) => {
    if (s.ref) visit(s.ref);
    if (s.items) walk(s.items);
    if (s.additionalProperties) walk(s.additionalProperties);
    if (s.properties) for (const p of Object.values(s.properties)) walk(p);
  };
  while (queue.length > 0) walk(resolve(queue.pop()!)!);
  return [...seen].sort();
}

/** a model schema as an OpenAPI schema object: `ref` becomes `$ref: prefix + name` */
export function renderSchema(s: Schema, refPrefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(s)) {
    if (key === 'ref') out.$ref = refPrefix + (value as string);
    else if (key === 'items' || key === 'additionalProperties') out[key] = renderSchema(value as Schema, refPrefix);
    else if (key === 'properties') {
      const props: Record<string, unknown> = {};
      for (const [name, p] of Object.entries(value as Record<string, Schema>)) props[name] = renderSchema(p, refPrefix);
      out.properties = props;
    } else out[key] = value;
  }
  return out;
}
