/**
 * pods/binding: the scheduler's POST of a Binding assigns an unassigned pod to a node (spec.nodeName, written by the
 * server itself) and marks it PodScheduled (through its status). A pod being deleted or already assigned, or a uid
 * that is not the pod's, is a conflict.
 */
import { rfc3339 } from '../../../../lib/time.ts';
import { invalid, required } from '../../../api/validation/errors.ts';
import { decodeObject, mediaType, readBody } from '../../../rest/body.ts';
import { isObject, type ApiObject } from '../../../rest/meta.ts';
import { sendJson } from '../../../rest/responses.ts';
import { conflict, invalidObject, methodNotSupported } from '../../../rest/status.ts';
import type { Subresource } from '../../../rest/subresource.ts';

const CREATED = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };

/** the node a Binding names, or the 422 it is refused with */
function targetNode(name: string, binding: ApiObject): string {
  const target = isObject(binding.target) ? binding.target : {};
  if (!target.name) throw invalidObject('Binding', name, [required('target.name')]);
  if (target.kind && target.kind !== 'Node')
    throw invalidObject('Binding', name, [invalid('target.kind', target.kind, "must be empty or 'Node'")]);
  return String(target.name);
}

/** the pod assigned to node, or the conflict that keeps it from being assigned */
function assigned(cur: ApiObject, name: string, node: string, uid: unknown): ApiObject {
  const why = (reason: string) => conflict('', 'pods/binding', name, reason);
  const md = cur.metadata ?? {};
  const spec = isObject(cur.spec) ? cur.spec : {};
  if (md.deletionTimestamp) throw why(`pod ${name} is being deleted, cannot be assigned to a host`);
  if (spec.nodeName) throw why(`pod ${name} is already assigned to node "${spec.nodeName}"`);
  if (uid && uid !== md.uid)
    throw why(`Precondition failed: UID in precondition: ${uid}, UID in object meta: ${md.uid}`);
  const next = structuredClone(cur);
  (next.spec as Record<string, unknown>).nodeName = node;
  return next;
}

/** the PodScheduled condition, true now */
function scheduled(cur: ApiObject): ApiObject {
  const next = structuredClone(cur);
  const status = isObject(next.status) ? next.status : (next.status = {});
  const conditions = Array.isArray(status.conditions) ? status.conditions : [];
  const rest = conditions.filter((c: unknown) => !isObject(c) || c.type !== 'PodScheduled');
  rest.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339() });
  status.conditions = rest;
  return next;
}

export const bindingSubresource: Subresource = {
  async serve(s, ops) {
    const r = s.resource;
    if (s.method !== 'POST')
      throw methodNotSupported(r.info.group, `${r.info.resource}/binding`, s.method.toLowerCase());
    const binding = decodeObject(await readBody(s.ctx.req), mediaType(s.ctx.req), 'Binding');
    const node = targetNode(s.name, binding);
    await ops.admit(s, binding);
    const uid = binding.metadata?.uid;
    await ops.store.guaranteedUpdate(r, s.namespace, s.name, (cur) => assigned(cur, s.name, node, uid), {
      dryRun: s.dryRun,
      internal: true,
    });
    // the PodScheduled condition lives in status, written through the status path
    if (!s.dryRun)
      await ops.store.guaranteedUpdate(r, s.namespace, s.name, scheduled, { subresource: 'status', user: s.ctx.user });
    sendJson(s.ctx.res, 201, CREATED);
  },
};
