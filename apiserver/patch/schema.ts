/**
 * Type information for patching, read from the compact API model (OpenAPI v2 definitions).
 * The patch code only needs to look definitions up by name, through TypeResolver, so it works with the
 * generated model or with any other source of definitions.
 */
import type { Model, Schema } from '../openapi/model.ts';

export type { Schema } from '../openapi/model.ts';

export interface TypeResolver {
  /** the definition named e.g. 'io.k8s.api.core.v1.PodSpec'; undefined if unknown */
  resolve(name: string): Schema | undefined;
}

/** a resolver over a Model's definitions */
export function modelResolver(model: Model): TypeResolver {
  const defs = model.definitions;
  return { resolve: (name) => (Object.hasOwn(defs, name) ? defs[name] : undefined) };
}

/** the schema a property stands for: its referenced definition, or itself when inline */
export function deref(schema: Schema | undefined, resolver: TypeResolver): Schema | undefined {
  if (!schema) return undefined;
  if (schema.ref) return resolver.resolve(schema.ref);
  return schema;
}

/** the schema of member `key` of an object schema: a declared property, else the additionalProperties schema */
export function memberSchema(schema: Schema | undefined, key: string, resolver: TypeResolver): Schema | undefined {
  const s = deref(schema, resolver);
  if (!s) return undefined;
  if (s.properties && Object.hasOwn(s.properties, key)) return s.properties[key];
  return s.additionalProperties;
}

/** the schema of the items of an array schema */
export function itemSchema(schema: Schema | undefined, resolver: TypeResolver): Schema | undefined {
  return deref(schema, resolver)?.items;
}

/** x-kubernetes-patch-strategy split into its parts ('merge', 'retainKeys', 'replace') */
export function patchStrategies(schema: Schema | undefined): string[] {
  const s = schema?.['x-kubernetes-patch-strategy'];
  return s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0)
    : [];
}
