/**
 * The REST handler's Patcher over apiserver/patch: JSON patch, merge patch, strategic merge patch and server-side
 * apply, typed by the API model; and the unknown-field check for fieldValidation.
 */
import {
  apply,
  applyConflictError,
  applyJsonPatch,
  applyMergePatch,
  PatchError,
  strategicMergePatch,
  trackUpdate,
  validateApplyConfiguration,
  type TypeResolver,
} from './patch/index.ts';
import { resolve } from './openapi/definitions.ts';
import { unknownFields } from './rest/field-validation.ts';
import { typeError } from './rest/typed-decode.ts';
import { loadYamlDocuments, parseJsonText } from './rest/body.ts';
import { goJsonSyntaxError } from './rest/go-json.ts';
import type { FieldValidator, HandlerDeps, Patcher } from './rest/handler.ts';
import { apiVersionOf, type Resource } from './rest/resource.ts';
import { ApiError, badRequest } from './rest/status.ts';
import { rfc3339 } from '../lib/time.ts';

const resolver: TypeResolver = { resolve };

export const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

function asApiError(e: unknown): unknown {
  if (e instanceof PatchError) {
    return new ApiError(e.status, e.reason, e.message, e.causes ? { causes: e.causes } : undefined);
  }
  return e;
}

/** fields reset by the main resource vs the status subresource (they belong to the other endpoint) */
function resetFields(r: Resource, subresource?: string): string[][] | undefined {
  if (!r.strategy.hasStatus) return undefined;
  return subresource === 'status'
    ? [['spec'], ...r.strategy.statusKeepsMetadata.map((f) => ['metadata', f])]
    : [['status']];
}

/** a JSON patch body; one that is not JSON is refused as Kubernetes refuses it for that patch type */
function parsePatchJson(body: Buffer, type: string): unknown {
  try {
    return parseJsonText(body.toString('utf8'));
  } catch (e) {
    const syntax = goJsonSyntaxError(body);
    if (syntax === undefined) throw badRequest(`error decoding patch: ${(e as Error).message}`);
    // a merge patch is read by the json-patch library, which has one word for it; the others by Go's decoder
    throw badRequest(type === 'application/merge-patch+json' ? 'Invalid JSON Patch' : syntax);
  }
}

export function makePatcher(): Patcher {
  return {
    patchTypes: PATCH_TYPES,
    patch(r, type, cur, body) {
      const p = parsePatchJson(body, type);
      try {
        switch (type) {
          case 'application/json-patch+json':
            return applyJsonPatch(cur, p);
          case 'application/merge-patch+json':
            return applyMergePatch(cur, p);
          case 'application/strategic-merge-patch+json': {
            const typeName = cur?.kind === 'Scale' ? 'io.k8s.api.autoscaling.v1.Scale' : r.info.definition;
            return strategicMergePatch(cur, p, typeName, resolver);
          }
          default:
            throw badRequest(`unsupported patch type ${type}`);
        }
      } catch (e) {
        throw asApiError(e);
      }
    },
    apply(r, live, body, manager, force, subresource) {
      let config: any;
      try {
        const docs = loadYamlDocuments(body.toString('utf8'));
        if (docs.length !== 1) throw new Error(`expected one YAML or JSON document, found ${docs.length}`);
        config = docs[0];
      } catch (e) {
        throw badRequest(`error decoding YAML: ${(e as Error).message}`);
      }
      try {
        validateApplyConfiguration(config, {
          apiVersion: apiVersionOf(r.info),
          kind: r.info.kind,
          name: live?.metadata?.name ?? config?.metadata?.name,
        });
        // a configuration must fit the type to be applied, whatever the fieldValidation: its fields are tracked by path
        const unknown = unknownFields(config, r.info.definition, resolve, { limit: 1 });
        if (unknown.length > 0) {
          const path = /^unknown field "(.*)"$/.exec(unknown[0])?.[1] ?? unknown[0];
          const meta: { namespace?: string; name?: string } = config.metadata ?? {};
          throw badRequest(
            `failed to create typed patch object (${meta.namespace ?? ''}/${meta.name ?? ''}; ${r.info.group}/${r.info.version}, Kind=${r.info.kind}): .${path}: field not declared in schema`,
          );
        }
        const res = apply(live, config, {
          manager,
          force,
          typeName: r.info.definition,
          resolver,
          now: rfc3339(),
          subresource,
          resetFields: resetFields(r, subresource),
        });
        if (res.conflicts && res.conflicts.length > 0) throw applyConflictError(res.conflicts);
        return res.object;
      } catch (e) {
        throw asApiError(e);
      }
    },
    trackUpdate(r, old, obj, manager, subresource) {
      try {
        const tracked = trackUpdate(old, obj, manager, r.info.definition, resolver, rfc3339(), subresource, {
          resetFields: resetFields(r, subresource),
        });
        const mf = (tracked as any).metadata?.managedFields;
        if (mf === undefined) delete obj.metadata?.managedFields;
        else (obj.metadata ??= {}).managedFields = mf;
      } catch (e) {
        throw asApiError(e);
      }
    },
  };
}

/** reports the unknown fields of an object and removes them, as decoding into Kubernetes' Go types drops them */
export function makeFieldValidator(): FieldValidator {
  return (r, obj) => unknownFields(obj, r.info.definition, resolve, { prune: true });
}

/** Kubernetes' decoding error for an object its type cannot hold, or undefined */
export function makeTypeChecker(): NonNullable<HandlerDeps['checkTypes']> {
  return (obj, type) => typeError(obj, type.kind, type.version, type.definition, resolve);
}
