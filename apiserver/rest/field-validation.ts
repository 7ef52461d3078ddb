/**
 * Unknown fields: an object is walked against its type in the API model, and every field the type does not declare
 * is reported with its path, in Kubernetes' words, for fieldValidation=Strict|Warn:
 *   unknown field "spec.template.spec.containers[0].imagePullPolcy"
 * and, with `prune`, removed from the object, as decoding into Kubernetes' Go types drops them whatever the
 * fieldValidation (values of free-form fields are kept as they are).
 */
import type { Schema } from '../openapi/model.ts';

export type SchemaResolver = (name: string) => Schema | undefined;

export function unknownFields(
  obj: unknown,
  typeName: string,
  resolve: SchemaResolver,
  opts: { limit?: number; prune?: boolean } = {},
): string[] {
  const out: string[] = [];
  const limit = opts.limit ?? 100;
  const report = (p: string) => {
    if (out.length < limit) out.push(`unknown field "${p}"`);
  };
  const walk = (value: unknown, schema: Schema | undefined, path: string, depth: number): void => {
    if (
      (!opts.prune && out.length >= limit) ||
      depth > 64 ||
      schema === undefined ||
      value === null ||
      value === undefined
    )
      return;
    while (schema.ref) {
      const next = resolve(schema.ref);
      if (!next) return;
      schema = next;
    }
    if (schema['x-kubernetes-preserve-unknown-fields']) return;
    if (Array.isArray(value)) {
      if (schema.items) value.forEach((v, i) => walk(v, schema!.items, `${path}[${i}]`, depth + 1));
      return;
    }
    if (typeof value !== 'object') return;
    const rec = value as Record<string, unknown>;
    if (schema.properties) {
      for (const [k, v] of Object.entries(rec)) {
        const p = path ? `${path}.${k}` : k;
        const prop = schema.properties[k];
        if (prop === undefined) {
          report(p);
          if (opts.prune) delete rec[k];
          continue;
        }
        walk(v, prop, p, depth + 1);
      }
      return;
    }
    if (schema.additionalProperties) {
      for (const [k, v] of Object.entries(rec))
        walk(v, schema.additionalProperties, path ? `${path}.${k}` : k, depth + 1);
    }
  };
  walk(obj, { ref: typeName }, '', 0);
  return out;
}
