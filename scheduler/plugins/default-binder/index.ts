/** DefaultBinder: binds the pod by creating its pods/<name>/binding subresource, as kube-scheduler does. */
import type { Binding, Pod } from '../../../lib/kube/types/core-v1.ts';
import { Pods } from '../../../lib/kube/resources.ts';
import {
  errorStatus,
  SUCCESS,
  type BindPlugin,
  type CycleState,
  type Handle,
  type Status,
} from '../../framework/types.ts';

export const NAME = 'DefaultBinder';

/** the v1 Binding sent for a pod (the uid guards against binding a newer pod of the same name) */
export function bindingFor(pod: Pod, nodeName: string): Binding {
  return {
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace, uid: pod.metadata.uid },
    target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
  };
}

export const defaultBinder = {
  name: NAME,
  async bind(_state: CycleState, pod: Pod, nodeName: string, handle: Handle): Promise<Status> {
    try {
      await handle.client.create(Pods, bindingFor(pod, nodeName), { subresource: 'binding', name: pod.metadata.name });
      return SUCCESS;
    } catch (e) {
      return errorStatus(`binding to node ${nodeName} failed: ${(e as Error).message}`, e);
    }
  },
} satisfies BindPlugin;
