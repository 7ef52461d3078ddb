/** skiff agent: the node agent of one host, against an API server (--kubeconfig, or --server with --token). */
import os from 'node:os';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { Client } from '../lib/kube/client.ts';
import type { ApiClient } from '../lib/kube/api.ts';
import { NodeAgent } from '../node-agent/agent.ts';
import type { Flags } from './flags.ts';
import type { AGENT_COMMAND_FLAGS, AGENT_FLAGS } from './flag-tables.ts';

/** the agent's flags as skiff server has them too (it says --keep-pods-on-exit instead of --stop-pods-on-exit) */
export type AgentFlags = Omit<Flags<typeof AGENT_FLAGS>, 'stop-pods-on-exit'>;

function parseLabels(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of items) {
    const [k, v = ''] = kv.split('=');
    out[k] = v;
  }
  return out;
}

/** ["127.0.0.1:5000", "mirror.local=http://10.0.0.5:5000"] -> { '127.0.0.1:5000': 'http://127.0.0.1:5000', 'mirror.local': 'http://10.0.0.5:5000' } */
export function parseRegistries(items: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq > 0) out[item.slice(0, eq)] = item.slice(eq + 1);
    else out[item] = `http://${item}`;
  }
  return out;
}

function parseProxyMode(s: string): 'iptables' | 'userspace' | 'none' {
  if (s === '' || s === 'iptables') return 'iptables';
  if (s === 'userspace' || s === 'none') return s;
  throw new Error(`--proxy-mode: "${s}" is not one of iptables, userspace, none`);
}

export function agentFromFlags(
  client: ApiClient,
  f: AgentFlags,
  dataDir: string,
  opts: { stopPodsOnExit: boolean; labels?: Record<string, string> },
): NodeAgent {
  return new NodeAgent({
    client,
    nodeName: f['node-name'] || os.hostname().toLowerCase(),
    nodeIP: f['node-ip'] || undefined,
    dataDir,
    criSocket: f['cri-socket'] || undefined,
    podCIDR: f['pod-cidr'] || undefined,
    clusterCIDR: f['cluster-cidr'],
    clusterDNS: f['cluster-dns'],
    embeddedDNS: !f['disable-dns'],
    proxyMode: parseProxyMode(f['proxy-mode']),
    clusterDomain: f['cluster-domain'],
    labels: { ...(opts.labels ?? {}), ...parseLabels(f['node-labels']) },
    bridge: f.bridge || undefined,
    port: f['agent-port'],
    registries: parseRegistries(f.registry),
    stopPodsOnExit: opts.stopPodsOnExit,
  });
}

async function clientFor(f: Flags<typeof AGENT_COMMAND_FLAGS>): Promise<Client> {
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

export async function agentCommand(f: Flags<typeof AGENT_COMMAND_FLAGS>): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the node agent runs containers: run it as root');
  const client = await clientFor(f);
  const agent = agentFromFlags(client, f, path.resolve(f['data-dir']), { stopPodsOnExit: f['stop-pods-on-exit'] });
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
