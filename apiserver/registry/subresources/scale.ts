/**
 * The scale subresource (Deployments, ReplicaSets, StatefulSets, ReplicationControllers): the object seen and changed
 * as an autoscaling/v1 Scale, spec.replicas and the selector the strategy names (a label selector, or a
 * ReplicationController's label map). GET, PUT and JSON, merge and strategic merge PATCH; server-side apply is refused.
 */
import { selectorString } from '../../printers/labels.ts';
import { decodeObject, mediaType, readBody } from '../../rest/body.ts';
import { isObject, type ApiObject } from '../../rest/meta.ts';
import type { Resource } from '../../rest/resource.ts';
import { sendJson } from '../../rest/responses.ts';
import { badRequest, invalidObject, methodNotSupported, unsupportedMedia } from '../../rest/status.ts';
import type { ObjectOperations, Subresource, SubresourceRequest, TypeOf } from '../../rest/subresource.ts';
import { invalid } from '../../api/validation/errors.ts';

const SCALE_TYPE: TypeOf = { kind: 'Scale', version: 'v1', definition: 'io.k8s.api.autoscaling.v1.Scale' };

const field = (o: ApiObject, part: string, name: string): unknown => {
  const v = o[part];
  return isObject(v) ? v[name] : undefined;
};

/** the Scale of an object; zero replicas and an empty selector are left out, as Kubernetes' Scale type does */
export function toScale(r: Resource, o: ApiObject): ApiObject {
  const replicas = field(o, 'spec', 'replicas') ?? 0;
  const selector = selectorString(r.strategy.scaleSelector(o)) ?? '';
  const md = o.metadata ?? {};
  const statusReplicas = field(o, 'status', 'replicas') ?? 0;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: md.name,
      namespace: md.namespace,
      uid: md.uid,
      resourceVersion: md.resourceVersion,
      creationTimestamp: md.creationTimestamp,
    },
    spec: replicas === 0 ? {} : { replicas },
    status: selector === '' ? { replicas: statusReplicas } : { replicas: statusReplicas, selector },
  };
}

/** the Scale a request asks for: a PUT's body, or the current Scale patched */
function requestedScale(s: SubresourceRequest, ops: ObjectOperations, cur: ApiObject, body: Buffer): ApiObject {
  const type = mediaType(s.ctx.req);
  let scale: ApiObject;
  if (s.method === 'PUT') scale = decodeObject(body, type);
  else if (type === 'application/apply-patch+yaml')
    throw unsupportedMedia('apply patches are not supported on the scale subresource');
  else scale = ops.patcher.patch(s.resource, type, toScale(s.resource, cur), body);
  if (scale?.kind && scale.kind !== 'Scale')
    throw badRequest(`the kind in the data (${scale.kind}) does not match the expected kind (Scale)`);
  ops.checkType(scale, SCALE_TYPE);
  return scale;
}

async function updateScale(s: SubresourceRequest, ops: ObjectOperations): Promise<ApiObject> {
  const body = await readBody(s.ctx.req);
  const manager = ops.fieldManager(s.ctx);
  const { obj } = await ops.store.guaranteedUpdate(
    s.resource,
    s.namespace,
    s.name,
    (cur) => {
      const scale = requestedScale(s, ops, cur, body);
      const replicas = field(scale, 'spec', 'replicas');
      if (replicas !== undefined && (!Number.isInteger(replicas) || (replicas as number) < 0)) {
        const errs = [invalid('spec.replicas', replicas, 'must be greater than or equal to 0')];
        throw invalidObject('Scale', s.name, errs, 'autoscaling');
      }
      const next = structuredClone(cur);
      next.spec = { ...(next.spec ?? {}), replicas: replicas ?? 0 };
      const rv = scale?.metadata?.resourceVersion;
      next.metadata.resourceVersion = rv || undefined;
      if (!rv) delete next.metadata.resourceVersion;
      ops.patcher.trackUpdate(s.resource, cur, next, manager, 'scale');
      return next;
    },
    { dryRun: s.dryRun, user: s.ctx.user, subresource: 'scale' },
  );
  return obj;
}

export const scaleSubresource: Subresource = {
  async serve(s, ops) {
    const r = s.resource;
    if (s.method === 'GET') {
      sendJson(s.ctx.res, 200, toScale(r, await ops.store.get(r, s.namespace, s.name)));
      return;
    }
    if (s.method !== 'PUT' && s.method !== 'PATCH')
      throw methodNotSupported(r.info.group, `${r.info.resource}/scale`, s.method.toLowerCase());
    sendJson(s.ctx.res, 200, toScale(r, await updateScale(s, ops)));
  },
};
