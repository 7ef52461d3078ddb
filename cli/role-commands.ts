/** skiff scheduler / skiff controller-manager: one role against any skiff (or Kubernetes) API server, until Ctrl-C. */
import os from 'node:os';
import type { Component } from '../lib/component.ts';
import type { Client } from '../lib/kube/client.ts';
import { clientFromFlags, KUBECONFIG_FLAG } from './client-flags.ts';
import { parseFlags, type FlagSpec } from './flags.ts';
import { CONTROLLER_FLAGS, controllerManagerRole, LEADER_FLAGS, schedulerRole } from './roles.ts';

async function runRole(
  command: string,
  args: string[],
  flags: FlagSpec[],
  build: (client: Client, f: Record<string, string>, onLost: () => void) => Component,
): Promise<void> {
  const f = parseFlags(args, [KUBECONFIG_FLAG, ...flags], command);
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

export function controllerManagerCommand(args: string[]): Promise<void> {
  return runRole('controller-manager', args, [...CONTROLLER_FLAGS, ...LEADER_FLAGS], (c, f, lost) =>
    controllerManagerRole(c, f, lost, os.hostname()),
  );
}

export function schedulerCommand(args: string[]): Promise<void> {
  return runRole('scheduler', args, LEADER_FLAGS, (c, f, lost) => schedulerRole(c, f, lost, os.hostname()));
}
