/**
 * The flags of every skiff command, one table per role. Commands compose them (`skiff server` takes the API server's,
 * the controller manager's and the node agent's), parsing and help are built from them (flags.ts, help.ts). This file
 * imports only constants, so that listing a command's flags loads none of the roles' code.
 */
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_CONTROLLER_OPTIONS } from '../controllers/controller.ts';
import { DEFAULT_CLUSTER_DNS } from '../node-agent/dns/local-address.ts';
import { without, type FlagTable } from './flags.ts';

/** every client command's: the API server and credentials */
export const CLIENT_FLAGS = {
  kubeconfig: {
    type: 'string',
    value: 'FILE',
    help: 'kubeconfig file with the API server and credentials (default: the first existing file of $KUBECONFIG, then ~/.kube/config)',
    env: 'KUBECONFIG',
    envReadByConsumer: true,
  },
} satisfies FlagTable;

/** skiff apiserver, and the first part of skiff server */
export const APISERVER_FLAGS = {
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'folder for the store, certificates and the admin kubeconfig',
    env: 'SKIFF_DATA_DIR',
    default: path.join(os.homedir(), '.skiff'),
  },
  port: { type: 'port', help: 'HTTPS port of the API server', env: 'SKIFF_API_PORT', default: 6443 },
  'bind-address': { type: 'string', value: 'ADDRESS', help: 'address the API server listens on', default: '0.0.0.0' },
  store: {
    type: 'string',
    value: 'URL',
    help: 'storage: sqlite:///path/state.db (default: in the data folder) or etcd://host:port[,host:port]',
    env: 'SKIFF_STORE',
  },
  'service-cidr': { type: 'string', value: 'CIDR', help: 'range for Service ClusterIPs', default: '10.96.0.0/12' },
  'tls-san': { type: 'list', value: 'NAME', help: 'extra names or addresses for the serving certificate' },
} satisfies FlagTable;

export const CONTROLLER_FLAGS = {
  controllers: {
    type: 'list',
    value: 'NAME',
    help: 'controllers to run: "*" for the default set, "name" to add one, "-name" to leave one out',
    default: ['*'],
  },
  queue: {
    type: 'string',
    value: 'URL',
    help: 'work queue: in process (empty) or redis://host:port to share the work among several controller managers',
    env: 'SKIFF_QUEUE',
  },
  'cluster-cidr': {
    type: 'string',
    value: 'CIDR',
    help: 'range from which each node gets its pod CIDR',
    default: DEFAULT_CONTROLLER_OPTIONS.clusterCIDR,
  },
  'node-monitor-grace-period': {
    type: 'seconds',
    help: 'seconds without a heartbeat before a node is marked NotReady/Unknown',
    default: DEFAULT_CONTROLLER_OPTIONS.nodeMonitorGracePeriodMs / 1000,
  },
} satisfies FlagTable;

/** the scheduler's and the controller manager's when each runs alone */
export const LEADER_FLAGS = {
  'leader-elect': {
    type: 'boolean',
    help: 'hold a Lease in kube-system while active, so that standbys can take over',
    default: true,
  },
  'leader-elect-identity': {
    type: 'string',
    value: 'ID',
    help: 'identity in the Lease (default: host name and a random suffix)',
  },
  'leader-elect-lease-duration': {
    type: 'seconds',
    help: 'seconds a standby waits for a silent leader before taking over',
    default: 15,
  },
} satisfies FlagTable;

/** the node agent's, in skiff agent and (but the last) in skiff server */
export const AGENT_FLAGS = {
  'node-name': { type: 'string', value: 'NAME', help: 'name of this node (default: the host name)' },
  'node-ip': {
    type: 'string',
    value: 'ADDRESS',
    help: "address other nodes and the API server reach this node at (default: the default route's)",
  },
  'cri-socket': {
    type: 'string',
    value: 'PATH',
    help: "use this containerd CRI socket instead of starting a containerd of the agent's own",
  },
  'pod-cidr': { type: 'string', value: 'CIDR', help: 'pod range of this node when no controller manager assigns one' },
  'cluster-cidr': {
    type: 'string',
    value: 'CIDR',
    help: 'pod range of the whole cluster (traffic leaving it is masqueraded)',
    default: DEFAULT_CONTROLLER_OPTIONS.clusterCIDR,
  },
  'cluster-dns': {
    type: 'list',
    value: 'ADDRESS',
    help: 'nameserver address of ClusterFirst pods; the agent serves cluster DNS there (a node-local address)',
    default: [DEFAULT_CLUSTER_DNS],
  },
  'proxy-mode': {
    type: 'string',
    value: 'MODE',
    help: 'service proxy: iptables (userspace when iptables does not work here), userspace, or none',
    default: 'iptables',
  },
  'disable-dns': {
    type: 'boolean',
    help: "do not serve cluster DNS from this agent (--cluster-dns then names another server; empty: the host's resolvers)",
  },
  'cluster-domain': { type: 'string', value: 'DOMAIN', help: "the cluster's DNS domain", default: 'cluster.local' },
  registry: {
    type: 'list',
    value: 'REGISTRY',
    help: 'registries pulled over plain HTTP: host:port, or name=http://host:port to send pulls of name/... there',
  },
  bridge: { type: 'string', value: 'NAME', help: "name of the CNI bridge of this node's pods", default: 'skiff0' },
  'agent-port': {
    type: 'port',
    help: "HTTPS port of the agent's logs and exec server (0: a free one)",
    default: 10250,
  },
  'node-labels': { type: 'list', value: 'KEY=VALUE', help: 'labels to add to the Node' },
  'stop-pods-on-exit': { type: 'boolean', help: 'stop and remove every pod of the node when the agent stops' },
} satisfies FlagTable;

/** skiff agent: a kubeconfig, or a server URL with a token */
export const AGENT_COMMAND_FLAGS = {
  ...CLIENT_FLAGS,
  server: { type: 'string', value: 'URL', help: 'API server URL (with --token, instead of a kubeconfig)' },
  token: {
    type: 'string',
    value: 'TOKEN',
    help: 'bearer token for --server (skiff server writes one to <data>/node-token)',
    env: 'SKIFF_TOKEN',
  },
  'certificate-authority': {
    type: 'string',
    value: 'FILE',
    help: 'CA file to verify --server with (default: not verified)',
  },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'folder for containerd, pods, logs and images',
    env: 'SKIFF_DATA_DIR',
    default: '/var/lib/skiff-agent',
  },
  ...AGENT_FLAGS,
} satisfies FlagTable;

/** skiff server: the API server's, the controller manager's, its own, and the node agent's */
export const SERVER_FLAGS = {
  ...APISERVER_FLAGS,
  ...CONTROLLER_FLAGS,
  'disable-scheduler': { type: 'boolean', help: 'do not run the scheduler in this process' },
  'disable-controller-manager': { type: 'boolean', help: 'do not run the controllers in this process' },
  'disable-agent': { type: 'boolean', help: 'do not run a node agent (no pods run on this host)' },
  'keep-pods-on-exit': { type: 'boolean', help: 'leave the pods of this node running when the server stops' },
  // the controllers' --cluster-cidr serves the agent too; keep-pods-on-exit says the opposite of stop-pods-on-exit
  ...without(AGENT_FLAGS, 'cluster-cidr', 'stop-pods-on-exit'),
} satisfies FlagTable;

export const SCHEDULER_FLAGS = { ...CLIENT_FLAGS, ...LEADER_FLAGS } satisfies FlagTable;

export const CONTROLLER_MANAGER_FLAGS = { ...CLIENT_FLAGS, ...CONTROLLER_FLAGS, ...LEADER_FLAGS } satisfies FlagTable;

/** the containerd an image goes to */
export const IMAGE_SOCKET_FLAGS = {
  'cri-socket': {
    type: 'string',
    value: 'PATH',
    help: "containerd socket to import into (default: the local node agent's)",
  },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'data folder of the skiff server or agent whose containerd gets the image',
    env: 'SKIFF_DATA_DIR',
  },
} satisfies FlagTable;

export const IMAGE_BUILD_FLAGS = {
  out: { type: 'string', value: 'DIR', help: 'folder the image archives are written to', default: 'images' },
  import: { type: 'boolean', help: "also import them into the local node's containerd" },
  ...IMAGE_SOCKET_FLAGS,
} satisfies FlagTable;

export const WHY_PENDING_FLAGS = {
  ...CLIENT_FLAGS,
  namespace: { type: 'string', short: 'n', value: 'NAMESPACE', help: 'namespace of the pod', default: 'default' },
} satisfies FlagTable;

export const SIM_NODES_FLAGS = {
  ...CLIENT_FLAGS,
  count: { type: 'count', help: 'how many simulated nodes', default: 3 },
  prefix: { type: 'string', value: 'PREFIX', help: 'node name prefix', default: 'sim-node-' },
  cpu: { type: 'string', value: 'QUANTITY', help: 'cpu capacity of each node', default: '32' },
  memory: { type: 'string', value: 'QUANTITY', help: 'memory capacity of each node', default: '256Gi' },
  pods: { type: 'count', help: 'pod capacity of each node', default: 110 },
  'lease-renew-interval': {
    type: 'seconds',
    help: 'seconds between heartbeats (Lease renewals) of each node',
    default: 10,
  },
} satisfies FlagTable;
