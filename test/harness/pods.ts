/** Pods that run a shell script once, for tests against real nodes. */
import type { Client } from '../../lib/kube/client.ts';
import type { KubeObject } from '../../lib/kube/object.ts';
import { Pods } from '../../lib/kube/resources.ts';
import { eventually } from './eventually.ts';

export interface InPodOptions {
  image: string;
  /** default: default */
  namespace?: string;
  /** more of the pod's spec (nodeName, volumes, terminationGracePeriodSeconds, ...) */
  spec?: Record<string, unknown>;
  /** more of its one container, named c (env, volumeMounts, ...) */
  container?: Record<string, unknown>;
  /** how long the pod may take to finish; default 60 s */
  timeoutMs?: number;
}

/**
 * Runs `script` in a fresh pod (restartPolicy Never) and returns the pod once it has finished (Succeeded or Failed),
 * with what the script wrote to stdout and stderr, read back from its termination message.
 */
export async function inPod(
  c: Client,
  name: string,
  script: string,
  o: InPodOptions,
): Promise<{ pod: KubeObject; out: string }> {
  const namespace = o.namespace ?? 'default';
  await c.create(Pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      restartPolicy: 'Never',
      ...o.spec,
      containers: [
        { name: 'c', image: o.image, ...o.container, command: ['sh', '-c', `(${script}) > /dev/termination-log 2>&1`] },
      ],
    },
  });
  const pod = await eventually(
    `pod ${name} finished`,
    async () => {
      const p = await c.get<KubeObject>(Pods, namespace, name);
      return (p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') && p;
    },
    o.timeoutMs ?? 60_000,
    200,
  );
  return { pod, out: pod.status?.containerStatuses?.[0]?.state?.terminated?.message ?? '' };
}
