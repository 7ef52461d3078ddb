/** Tools: `skiff why-pending <pod>` (why the scheduler cannot place a pod) and `skiff sim-nodes` (simulated nodes). */
import { whyPending } from '../scheduler/diagnosis.ts';
import { SimNodes } from '../tools/sim-nodes/index.ts';
import { clientFromFlags } from './client-flags.ts';
import type { Flags } from './flags.ts';
import type { SIM_NODES_FLAGS, WHY_PENDING_FLAGS } from './flag-tables.ts';

export async function whyPendingCommand(f: Flags<typeof WHY_PENDING_FLAGS>, pod: string): Promise<void> {
  const name = pod.replace(/^pods?\//, '');
  const client = await clientFromFlags(f);
  try {
    console.log(await whyPending(client, f.namespace, name));
  } finally {
    client.close();
  }
}

export async function simNodesCommand(f: Flags<typeof SIM_NODES_FLAGS>): Promise<void> {
  const client = await clientFromFlags(f, { userAgent: 'skiff-sim-nodes' });
  const sim = new SimNodes({
    client,
    count: f.count,
    prefix: f.prefix,
    cpu: f.cpu,
    memory: f.memory,
    pods: f.pods,
    leaseRenewMs: f['lease-renew-interval'] * 1000,
  });
  await sim.start();
  console.log(
    `sim-nodes: ${f.count} simulated nodes ready (${f.prefix}*), a test and benchmark tool: pods bound to them are reported Running without running anything. Press Ctrl-C to stop.`,
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
