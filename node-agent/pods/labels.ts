/**
 * The labels and annotations the agent puts on CRI sandboxes and containers (kubelet's names), so the runtime alone
 * tells which pod and container a sandbox or container belongs to: after a restart, for logs and exec, and for cleanup.
 */
export const POD_NAME = 'io.kubernetes.pod.name';
export const POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const POD_UID = 'io.kubernetes.pod.uid';
export const CONTAINER_NAME = 'io.kubernetes.container.name';
/** on sandboxes: "podsandbox"; on containers: "container" */
export const CONTAINER_TYPE = 'io.kubernetes.container.type';
/** the label every sandbox and container the agent creates carries, with the node's name */
export const MANAGED_BY_NODE = 'skiff.dev/node';

/** container annotations */
export const CONTAINER_HASH = 'io.kubernetes.container.hash';
export const RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const TERMINATION_GRACE_PERIOD = 'io.kubernetes.pod.terminationGracePeriod';
export const INIT_CONTAINER = 'skiff.dev/init-container';
export const PRE_STOP = 'skiff.dev/pre-stop';
