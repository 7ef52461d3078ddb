/** skiff scheduler / skiff controller-manager: one role against any skiff (or Kubernetes) API server, until Ctrl-C. */
import os from 'node:os';
import type { Component } from '../lib/component.ts';
import type { Client } from '../lib/kube/client.ts';
import { clientFromFlags } from './client-flags.ts';
import type { Flags } from './flags.ts';
import type { CONTROLLER_MANAGER_FLAGS, SCHEDULER_FLAGS } from './flag-tables.ts';
import { controllerManagerRole, schedulerRole } from './roles.ts';

async function runRole<F extends Flags<typeof SCHEDULER_FLAGS>>(
  command: string,
  f: F,
  build: (client: Client, f: F, onLost: () => void) => Component,
): Promise<void> {
  const client = await clientFromFlags(f, { userAgent: `skiff-${command}` });
  const component = build(client, f, () => {
    console.error(`skiff ${command}: leadership lost; exiting so that a fresh start stands by again`);
    process.exit(1);
  });
  await component.start();
  console.log(`skiff ${command}: running against ${client.server}. Press Ctrl-C to stop.`);
  let stopping = false;
  const stop = async (sig: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`\nskiff ${command}: ${sig} received, stopping...`);
    await component.stop();
    client.close();
    console.log(`skiff ${command}: stopped cleanly`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

export function controllerManagerCommand(f: Flags<typeof CONTROLLER_MANAGER_FLAGS>): Promise<void> {
  return runRole('controller-manager', f, (c, flags, lost) => controllerManagerRole(c, flags, lost, os.hostname()));
}

export function schedulerCommand(f: Flags<typeof SCHEDULER_FLAGS>): Promise<void> {
  return runRole('scheduler', f, (c, flags, lost) => schedulerRole(c, flags, lost, os.hostname()));
}
