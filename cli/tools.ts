/** Tools: `skiff why-pending <pod>` (why the scheduler cannot place a pod) and `skiff sim-nodes` (simulated nodes). */
import { whyPending } from '../scheduler/diagnosis.ts';
import { SimNodes } from '../tools/sim-nodes/index.ts';
import { clientFromFlags, KUBECONFIG_FLAG } from './client-flags.ts';
import { parseFlags } from './flags.ts';

export async function whyPendingCommand(args: string[]): Promise<void> {
  const positional: string[] = [];
  const flagArgs: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '-n') flagArgs.push('--namespace', args[++i] ?? '');
    else if (a.startsWith('-')) {
      flagArgs.push(a);
      if (!a.includes('=') && (a === '--namespace' || a === '--kubeconfig')) flagArgs.push(args[++i] ?? '');
    } else positional.push(a);
  }
  const f = parseFlags(
    flagArgs,
    [KUBECONFIG_FLAG, { name: 'namespace', help: 'namespace of the pod (-n)', default: 'default' }],
    'why-pending <pod>',
  );
  if (positional.length !== 1) throw new Error('usage: skiff why-pending <pod> [-n namespace] [--kubeconfig file]');
  const name = positional[0].replace(/^pods?\//, '');
  const client = await clientFromFlags(f);
  try {
    console.log(await whyPending(client, f.namespace, name));
  } finally {
    client.close();
  }
}

export async function simNodesCommand(args: string[]): Promise<void> {
  const f = parseFlags(
    args,
    [
      KUBECONFIG_FLAG,
      { name: 'count', help: 'how many simulated nodes', default: '3' },
      { name: 'prefix', help: 'node name prefix', default: 'sim-node-' },
      { name: 'cpu', help: 'cpu capacity of each node', default: '32' },
      { name: 'memory', help: 'memory capacity of each node', default: '256Gi' },
      { name: 'pods', help: 'pod capacity of each node', default: '110' },
      { name: 'lease-renew-interval', help: 'seconds between heartbeats (Lease renewals) of each node', default: '10' },
    ],
    'sim-nodes',
  );
  const count = Number(f.count);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count: "${f.count}" is not a positive whole number`);
  const renew = Number(f['lease-renew-interval']);
  if (!(renew > 0))
    throw new Error(`--lease-renew-interval: "${f['lease-renew-interval']}" is not a positive number of seconds`);
  const client = await clientFromFlags(f, { userAgent: 'skiff-sim-nodes' });
  const sim = new SimNodes({
    client,
    count,
    prefix: f.prefix,
    cpu: f.cpu,
    memory: f.memory,
    pods: Number(f.pods),
    leaseRenewMs: renew * 1000,
  });
  await sim.start();
  console.log(
    `sim-nodes: ${count} simulated nodes ready (${f.prefix}*), a test and benchmark tool: pods bound to them are reported Running without running anything. Press Ctrl-C to stop.`,
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await sim.stop();
    client.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}
