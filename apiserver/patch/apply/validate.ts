/** Checks of an apply configuration before it is merged. */
import { PatchError, badRequest } from '../errors.ts';
import { isObject } from '../json-value.ts';

export interface ApplyTarget {
  /** the group/version served by the endpoint, e.g. 'apps/v1' */
  apiVersion?: string;
  kind?: string;
  /** the name in the request URL */
  name?: string;
}

/**
 * an apply configuration must be an object with apiVersion, kind and metadata.name (matching the endpoint when
 * given) and no metadata.managedFields
 * @throws PatchError 400
 */
export function validateApplyConfiguration(
  config: unknown,
  target: ApplyTarget = {},
): asserts config is Record<string, unknown> {
  if (!isObject(config))
    throw badRequest(
      'the apply configuration must be an object (a YAML or JSON map) with apiVersion, kind and metadata',
    );
  const { apiVersion, kind } = config;
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    throw badRequest(
      `the apply configuration has no apiVersion: set apiVersion${target.apiVersion ? ` to ${target.apiVersion}` : ''}`,
    );
  }
  if (typeof kind !== 'string' || kind === '') {
    throw badRequest(`the apply configuration has no kind: set kind${target.kind ? ` to ${target.kind}` : ''}`);
  }
  if ((target.apiVersion && apiVersion !== target.apiVersion) || (target.kind && kind !== target.kind)) {
    throw badRequest(`invalid object type: ${apiVersion.includes('/') ? apiVersion : `/${apiVersion}`}, Kind=${kind}`);
  }
  const metadata = config.metadata;
  if (!isObject(metadata)) throw badRequest('the apply configuration has no metadata: set metadata.name');
  if (typeof metadata.name !== 'string' || metadata.name === '')
    throw badRequest('the apply configuration has no metadata.name: set the name of the object');
  if (target.name !== undefined && metadata.name !== target.name) {
    throw badRequest(`the name of the object (${metadata.name}) does not match the name on the URL (${target.name})`);
  }
  if (metadata.managedFields !== undefined && metadata.managedFields !== null) {
    throw badRequest('metadata.managedFields must be nil');
  }
}

export { PatchError };
