/** skiff agent: the node agent of one host, against an API server (--kubeconfig, or --server with --token). */
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Client } from '../lib/kube/client.ts';
import type { ApiClient } from '../lib/kube/api.ts';
import { NodeAgent } from '../node-agent/agent.ts';
import { DEFAULT_CLUSTER_DNS } from '../node-agent/dns/local-address.ts';
import { parseFlags, type FlagSpec } from './flags.ts';
import { KUBECONFIG_FLAG } from './client-flags.ts';

export const AGENT_FLAGS: FlagSpec[] = [
  { name: 'node-name', help: 'name of this node (default: the host name)', default: '' },
  {
    name: 'node-ip',
    help: "address other nodes and the API server reach this node at (default: the default route's)",
    default: '',
  },
  {
    name: 'cri-socket',
    help: "use this containerd CRI socket instead of starting a containerd of the agent's own",
    default: '',
  },
  { name: 'pod-cidr', help: 'pod range of this node when no controller manager assigns one', default: '' },
  {
    name: 'cluster-cidr',
    help: 'pod range of the whole cluster (traffic leaving it is masqueraded)',
    default: '10.244.0.0/16',
  },
  {
    name: 'cluster-dns',
    help: 'nameserver address of ClusterFirst pods; the agent serves cluster DNS there (a node-local address)',
    default: DEFAULT_CLUSTER_DNS,
  },
  {
    name: 'proxy-mode',
    help: 'service proxy: iptables (userspace when iptables does not work here), userspace, or none',
    default: 'iptables',
  },
  {
    name: 'disable-dns',
    help: "do not serve cluster DNS from this agent (--cluster-dns then names another server; empty: the host's resolvers)",
    boolean: true,
  },
  { name: 'cluster-domain', help: "the cluster's DNS domain", default: 'cluster.local' },
  {
    name: 'registry',
    help: 'registries pulled over plain HTTP: host:port, or name=http://host:port to send pulls of name/... there (comma separated)',
    default: '',
  },
  { name: 'bridge', help: "name of the CNI bridge of this node's pods", default: 'skiff0' },
  { name: 'agent-port', help: "HTTPS port of the agent's logs and exec server (0: a free one)", default: '10250' },
  { name: 'node-labels', help: 'labels to add to the Node, k=v comma separated', default: '' },
  { name: 'stop-pods-on-exit', help: 'stop and remove every pod of the node when the agent stops', boolean: true },
];

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const [k, v = ''] = kv.split('=');
    out[k] = v;
  }
  return out;
}

/** "127.0.0.1:5000,mirror.local=http://10.0.0.5:5000" -> { '127.0.0.1:5000': 'http://127.0.0.1:5000', 'mirror.local': 'http://10.0.0.5:5000' } */
export function parseRegistries(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)) {
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else out[item] = `http://${item}`;
  }
  return out;
}

function parseProxyMode(s: string | undefined): 'iptables' | 'userspace' | 'none' {
  if (s === undefined || s === '' || s === 'iptables') return 'iptables';
  if (s === 'userspace' || s === 'none') return s;
  throw new Error(`--proxy-mode: "${s}" is not one of iptables, userspace, none`);
}

export function agentFromFlags(
  client: ApiClient,
  f: Record<string, string>,
  dataDir: string,
  defaults: { stopPodsOnExit?: boolean; labels?: Record<string, string> } = {},
): NodeAgent {
  return new NodeAgent({
    client,
    nodeName: f['node-name'] || os.hostname().toLowerCase(),
    nodeIP: f['node-ip'] || undefined,
    dataDir,
    criSocket: f['cri-socket'] || undefined,
    podCIDR: f['pod-cidr'] || undefined,
    clusterCIDR: f['cluster-cidr'],
    clusterDNS: f['cluster-dns']
      ? f['cluster-dns']
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [],
    embeddedDNS: f['disable-dns'] !== 'true',
    proxyMode: parseProxyMode(f['proxy-mode']),
    clusterDomain: f['cluster-domain'],
    labels: { ...(defaults.labels ?? {}), ...parseLabels(f['node-labels'] ?? '') },
    bridge: f.bridge || undefined,
    port: Number(f['agent-port'] ?? 10250),
    registries: parseRegistries(f.registry ?? ''),
    stopPodsOnExit: f['stop-pods-on-exit'] === 'true' || !!defaults.stopPodsOnExit,
  });
}

const FLAGS: FlagSpec[] = [
  KUBECONFIG_FLAG,
  { name: 'server', help: 'API server URL (with --token, instead of a kubeconfig)', default: '' },
  {
    name: 'token',
    help: 'bearer token for --server (skiff server writes one to <data>/node-token)',
    env: 'SKIFF_TOKEN',
    default: '',
  },
  { name: 'certificate-authority', help: 'CA file to verify --server with (default: not verified)', default: '' },
  {
    name: 'data-dir',
    help: 'folder for containerd, pods, logs and images',
    env: 'SKIFF_DATA_DIR',
    default: '/var/lib/skiff-agent',
  },
  ...AGENT_FLAGS,
];

async function clientFor(f: Record<string, string>): Promise<Client> {
  if (!f.server) return Client.fromKubeconfig(f.kubeconfig || undefined, { userAgent: 'skiff-agent' });
  if (!f.token) throw new Error('--server needs --token (or SKIFF_TOKEN)');
  return Client.fromConnection(
    {
      server: f.server,
      ca: f['certificate-authority'] ? readFileSync(f['certificate-authority']) : undefined,
      rejectUnauthorized: !!f['certificate-authority'],
      headers: { Authorization: `Bearer ${f.token}` },
    },
    { userAgent: 'skiff-agent' },
  );
}

export async function agentCommand(args: string[]): Promise<void> {
  const f = parseFlags(args, FLAGS, 'agent');
  if (process.getuid?.() !== 0) throw new Error('the node agent runs containers: run it as root');
  const client = await clientFor(f);
  const agent = agentFromFlags(client, f, path.resolve(f['data-dir']));
  try {
    await agent.start();
  } catch (e) {
    await agent.stop().catch(() => {}); // its containerd, if it got that far
    client.close();
    const err = e as { code?: number };
    if (err.code === 401) {
      throw new Error(
        `the API server${f.server ? ` at ${f.server}` : ''} rejected the agent's credentials (401 Unauthorized): ${f.server ? 'pass the token from <server data folder>/node-token with --token' : 'check the kubeconfig'}`,
        { cause: e },
      );
    }
    throw e;
  }
  console.log('skiff agent: ready. Press Ctrl-C to stop.');
  let stopping = 0;
  const stop = async (sig: string) => {
    if (stopping) {
      if (Date.now() - stopping < 1000) return; // the same Ctrl-C, passed on by npm
      process.exit(1);
    }
    stopping = Date.now();
    console.log(`\nskiff agent: ${sig} received, stopping...`);
    await agent.stop().catch((e) => console.error(`skiff agent: ${(e as Error).message}`));
    client.close();
    console.log('skiff agent: stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
