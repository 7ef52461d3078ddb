/**
 * The node-local address the cluster DNS listens on (NodeLocal DNSCache's approach): a /32 on the loopback interface,
 * the same address on every node, reached by pods through their default route to the node (a local address is
 * delivered locally whatever interface holds it, so no dummy interface module is needed).
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const DNS_INTERFACE = 'lo';
export const DEFAULT_CLUSTER_DNS = '169.254.20.10';

function isLocal(ip: string): boolean {
  return Object.values(os.networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === ip));
}

/** Adds `ip` to the loopback interface; returns whether this call added it. */
export async function addLocalAddress(ip: string): Promise<boolean> {
  if (isLocal(ip)) return false;
  try {
    await run('ip', ['addr', 'add', `${ip}/32`, 'dev', DNS_INTERFACE]);
  } catch (e) {
    throw new Error(
      `cannot add the cluster DNS address ${ip} to ${DNS_INTERFACE}: ${String((e as { stderr?: string }).stderr ?? (e as Error).message).trim()}`,
      { cause: e },
    );
  }
  return true;
}

export async function removeLocalAddress(ip: string): Promise<void> {
  await run('ip', ['addr', 'del', `${ip}/32`, 'dev', DNS_INTERFACE]).catch(() => {});
}
