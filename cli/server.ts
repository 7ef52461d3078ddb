/** skiff server / skiff apiserver: run the control plane in the foreground until Ctrl-C. */
import path from 'node:path';
import os from 'node:os';
import { startApiServer, type ApiServer } from '../apiserver/server.ts';
import { createHash } from 'node:crypto';
import type { Flags } from './flags.ts';
import type { APISERVER_FLAGS, SERVER_FLAGS } from './flag-tables.ts';
import { Client } from '../lib/kube/client.ts';
import type { Component } from '../lib/component.ts';
import { controllerManagerRole, schedulerRole } from './roles.ts';
import { agentFromFlags } from './agent.ts';

/** the API server, and with `server`'s flags (skiff server) the other roles as its clients */
async function run(
  f: Flags<typeof APISERVER_FLAGS>,
  command: string,
  roles: string,
  server?: Flags<typeof SERVER_FLAGS>,
): Promise<void> {
  const dataDir = path.resolve(f['data-dir']);
  const started = Date.now();
  const api = await startApiServer({
    dataDir,
    port: f.port,
    bindAddress: f['bind-address'],
    store: f.store,
    serviceCidr: f['service-cidr'],
    extraSans: f['tls-san'].length ? f['tls-san'] : undefined,
  });
  const components: Component[] = [];
  let client: Client | undefined;
  if (server && api.kubeconfigPath) {
    client = await Client.fromKubeconfig(api.kubeconfigPath, { userAgent: 'skiff-server' });
    components.push(...serverRoles(client, server, dataDir));
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
  if (api.kubeconfigPath) printGuide(api, dataDir, server ? roleNames : undefined);
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

/** skiff server's other roles, clients of its API server like any other, with the admin credentials */
function serverRoles(client: Client, server: Flags<typeof SERVER_FLAGS>, dataDir: string): Component[] {
  const components: Component[] = [];
  // a stable identity per host and data folder: a restarted server takes its own lease back at once
  const identity = `${os.hostname()}_${createHash('sha256').update(dataDir).digest('hex').slice(0, 8)}`;
  const roleFlags = {
    ...server,
    'leader-elect': true,
    'leader-elect-identity': identity,
    'leader-elect-lease-duration': 15,
  };
  const lost = () => {
    console.error('skiff server: a role lost its lease to another process; exiting');
    process.exit(1);
  };
  if (!server['disable-scheduler']) components.push(schedulerRole(client, roleFlags, lost, os.hostname()));
  if (!server['disable-controller-manager'])
    components.push(controllerManagerRole(client, roleFlags, lost, os.hostname()));
  if (!server['disable-agent']) {
    if (process.getuid?.() !== 0) {
      console.log(
        'skiff server: not root, so no node agent runs here (pods stay Pending); run as root or pass --disable-agent',
      );
    } else {
      const agent = agentFromFlags(client, server, path.join(dataDir, 'agent'), {
        stopPodsOnExit: !server['keep-pods-on-exit'],
        labels: { 'node-role.kubernetes.io/control-plane': '' },
      });
      components.push(agent);
    }
  }
  return components;
}

/** how to use what started; `roleNames` are the roles of skiff server besides the API server (undefined: apiserver) */
function printGuide(api: ApiServer, dataDir: string, roleNames: string[] | undefined): void {
  console.log('');
  console.log('Use it with kubectl:');
  console.log(`  export KUBECONFIG=${api.kubeconfigPath}`);
  console.log('  kubectl get namespaces');
  console.log('  kubectl apply -f manifests/');
  if (roleNames) {
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

export function serverCommand(f: Flags<typeof SERVER_FLAGS>): Promise<void> {
  return run(f, 'server', 'store and API server', f);
}

export function apiserverCommand(f: Flags<typeof APISERVER_FLAGS>): Promise<void> {
  return run(f, 'apiserver', 'API server');
}
