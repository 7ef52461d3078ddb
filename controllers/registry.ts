/** Every controller of skiff, in the order they start. `--controllers` picks among them by name. */
import type { ControllerDefinition } from './controller.ts';
import { daemonSetController } from './daemonset/index.ts';
import { deploymentController } from './deployment/index.ts';
import { endpointsController } from './endpoints/index.ts';
import { endpointSliceController } from './endpointslice/index.ts';
import { garbageCollector } from './garbage-collector/index.ts';
import { hpaController } from './hpa/index.ts';
import { namespaceController } from './namespace/index.ts';
import { nodeIpamController } from './node-ipam/index.ts';
import { nodeLifecycleController } from './node-lifecycle/index.ts';
import { replicaSetController, replicationController } from './replicaset/index.ts';
import { rootCaPublisher } from './root-ca-publisher/index.ts';
import { serviceAccountController } from './serviceaccount/index.ts';
import { statefulSetController } from './statefulset/index.ts';

export const CONTROLLERS: readonly ControllerDefinition[] = [
  namespaceController,
  serviceAccountController,
  rootCaPublisher,
  garbageCollector,
  nodeIpamController,
  nodeLifecycleController,
  endpointsController,
  endpointSliceController,
  deploymentController,
  replicaSetController,
  replicationController,
  daemonSetController,
  statefulSetController,
  hpaController,
];
