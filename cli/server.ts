/** skiff server / skiff apiserver: run the control plane in the foreground until Ctrl-C. */
import path from 'node:path';
import os from 'node:os';
import { startApiServer } from '../apiserver/server.ts';
import { createHash } from 'node:crypto';
import { parseFlags, type FlagSpec } from './flags.ts';
import { Client } from '../lib/kube/client.ts';
import type { Component } from '../lib/component.ts';
import { CONTROLLER_FLAGS, controllerManagerRole, schedulerRole } from './roles.ts';
import { AGENT_FLAGS, agentFromFlags } from './agent.ts';

const FLAGS: FlagSpec[] = [
  {
    name: 'data-dir',
    help: 'folder for the store, certificates and the admin kubeconfig',
    env: 'SKIFF_DATA_DIR',
    default: path.join(os.homedir(), '.skiff'),
  },
  { name: 'port', help: 'HTTPS port of the API server', env: 'SKIFF_API_PORT', default: '6443' },
  { name: 'bind-address', help: 'address the API server listens on', default: '0.0.0.0' },
  {
    name: 'store',
    help: 'storage: sqlite:///path/state.db (default: in the data folder) or etcd://host:port[,host:port]',
    env: 'SKIFF_STORE',
    default: '',
  },
  { name: 'service-cidr', help: 'range for Service ClusterIPs', default: '10.96.0.0/12' },
  { name: 'tls-san', help: 'extra names or addresses for the serving certificate (comma separated)', default: '' },
];

const SERVER_FLAGS: FlagSpec[] = [
  ...CONTROLLER_FLAGS,
  { name: 'disable-scheduler', help: 'do not run the scheduler in this process', boolean: true },
  { name: 'disable-controller-manager', help: 'do not run the controllers in this process', boolean: true },
  { name: 'disable-agent', help: 'do not run a node agent (no pods run on this host)', boolean: true },
  { name: 'keep-pods-on-exit', help: 'leave the pods of this node running when the server stops', boolean: true },
  ...AGENT_FLAGS.filter((a) => a.name !== 'stop-pods-on-exit' && !CONTROLLER_FLAGS.some((c) => c.name === a.name)),
];

async function run(args: string[], command: string, roles: string): Promise<void> {
  const all = command === 'server';
  const f = parseFlags(args, all ? [...FLAGS, ...SERVER_FLAGS] : FLAGS, command);
  const dataDir = path.resolve(f['data-dir']);
  const port = Number(f.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: "${f.port}" is not a port number`);
  const started = Date.now();
  const api = await startApiServer({
    dataDir,
    port,
    bindAddress: f['bind-address'],
    store: f.store,
    serviceCidr: f['service-cidr'],
    extraSans: f['tls-san']
      ? f['tls-san']
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : undefined,
  });
  // the other roles are clients of the API server like any other, with the admin credentials
  const components: Component[] = [];
  let client: Client | undefined;
  if (all && api.kubeconfigPath) {
    client = await Client.fromKubeconfig(api.kubeconfigPath, { userAgent: 'skiff-server' });
    // a stable identity per host and data folder: a restarted server takes its own lease back at once
    const identity = `${os.hostname()}_${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
    const roleFlags = {
      ...f,
      'leader-elect': 'true',
      'leader-elect-identity': identity,
      'leader-elect-lease-duration': '15',
    };
    const lost = () => {
      console.error('skiff server: a role lost its lease to another process; exiting');
      process.exit(1);
    };
    if (f['disable-scheduler'] !== 'true') components.push(schedulerRole(client, roleFlags, lost, os.hostname()));
    if (f['disable-controller-manager'] !== 'true')
      components.push(controllerManagerRole(client, roleFlags, lost, os.hostname()));
    if (f['disable-agent'] !== 'true') {
      if (process.getuid?.() !== 0) {
        console.log(
          'skiff server: not root, so no node agent runs here (pods stay Pending); run as root or pass --disable-agent',
        );
      } else {
        const agent = agentFromFlags(client, f, path.join(dataDir, 'agent'), {
          stopPodsOnExit: f['keep-pods-on-exit'] !== 'true',
          labels: { 'node-role.kubernetes.io/control-plane': '' },
        });
        components.push(agent);
      }
    }
    const started: Component[] = [];
    for (const c of components) {
      try {
        await c.start();
        started.push(c);
      } catch (e) {
        // what started (and what half started: the agent's containerd) is stopped before the error is reported
        for (const s of [c, ...started.reverse()]) await s.stop().catch(() => {});
        client.close();
        await api.close();
        throw e;
      }
    }
  }
  const roleNames = components.map((c) => c.name);
  console.log(
    `skiff ${command}: ${roles}${roleNames.length ? `, ${roleNames.join(', ')}` : ''} ready in ${Date.now() - started} ms`,
  );
  console.log(`  API server:   ${api.url} (store: ${api.backend.name})`);
  console.log(`  data folder:  ${dataDir}`);
  if (api.kubeconfigPath) {
    console.log('');
    console.log('Use it with kubectl:');
    console.log(`  export KUBECONFIG=${api.kubeconfigPath}`);
    console.log('  kubectl get namespaces');
    console.log('  kubectl apply -f manifests/');
    if (all) {
      console.log('');
      if (roleNames.includes('node-agent')) {
        console.log('This host is a node: pods run here on containerd. Try:');
        console.log('  kubectl get nodes -o wide');
        console.log('  kubectl -n shop logs deploy/web; kubectl -n shop exec -it deploy/web -- sh');
        console.log(
          `  kubectl -n shop run -i --rm client --image=skiff.local/busybox:1.35 -- sh -c "printf 'GET /greeting HTTP/1.0\\r\\n\\r\\n' | nc web 80"`,
        );
      } else {
        console.log('No node agent runs in this server: pods need nodes.');
      }
      console.log('To add another host as a node (as root there):');
      console.log(
        `  skiff agent --server https://<this host's address>:${api.port} --token $(cat ${path.join(dataDir, 'node-token')})`,
      );
      console.log('To try the control plane with simulated nodes (a test tool: nothing runs):');
      console.log(`  KUBECONFIG=${api.kubeconfigPath} npm run skiff -- sim-nodes --count 3`);
    }
  }
  console.log('');
  console.log('Press Ctrl-C to stop.');
  let stopping = 0;
  const stop = async (sig: string) => {
    if (stopping) {
      // a terminal's Ctrl-C reaches npm and skiff both, and npm passes it on: the same signal twice at once
      if (Date.now() - stopping < 1000) return;
      console.log('skiff: second signal, exiting now');
      process.exit(1);
    }
    stopping = Date.now();
    console.log(`\nskiff: ${sig} received, stopping...`);
    for (const c of [...components].reverse())
      await c.stop().catch((e) => console.error(`skiff: stopping ${c.name}: ${(e as Error).message}`));
    client?.close();
    await api.close();
    console.log('skiff: stopped cleanly');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

export function serverCommand(args: string[]): Promise<void> {
  return run(args, 'server', 'store and API server');
}

export function apiserverCommand(args: string[]): Promise<void> {
  return run(args, 'apiserver', 'API server');
}
