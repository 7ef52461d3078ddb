/**
 * The pod-level cgroup (kubelet's pod<uid> under the node's cgroup root). runc creates it as the parent of the pod's
 * containers but neither limits nor removes it: the agent sets the pod's limits (the sum of its containers' when all
 * have one) before the sandbox starts, and removes it in every hierarchy when the pod is gone. cgroup v1 and v2.
 */
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Container, Pod } from '../objects.ts';
import { bytes, milliCpu } from './quantity.ts';
import { cpuQuota, cpuShares, CPU_PERIOD_US } from './spec.ts';

const ROOT = '/sys/fs/cgroup';
/** v1 hierarchies the agent limits; runc creates the pod folder in the others */
const V1_LIMITED = ['cpu', 'cpuacct', 'memory', 'pids'];

export function cgroupV2(): boolean {
  return existsSync(path.join(ROOT, 'cgroup.controllers'));
}

export interface PodLimits {
  memoryBytes: number;
  cpuQuotaUs: number;
  cpuShares: number;
}

/** The pod's limits: sums over its app containers (or the largest init container, when larger), 0 = unlimited. */
export function podLimits(pod: Pod): PodLimits {
  const cs = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const sum = (f: (c: Container) => number) => cs.reduce((a, c) => a + f(c), 0);
  const max = (f: (c: Container) => number) => inits.reduce((a, c) => Math.max(a, f(c)), 0);
  const allHave = (r: string) => [...cs, ...inits].every((c) => c.resources?.limits?.[r] !== undefined);
  const memLim = (c: Container) => bytes(c.resources?.limits?.memory);
  const cpuLim = (c: Container) => milliCpu(c.resources?.limits?.cpu);
  const cpuReq = (c: Container) => milliCpu(c.resources?.requests?.cpu ?? c.resources?.limits?.cpu);
  return {
    memoryBytes: allHave('memory') ? Math.max(sum(memLim), max(memLim)) : 0,
    cpuQuotaUs: allHave('cpu') ? cpuQuota(Math.max(sum(cpuLim), max(cpuLim))) : 0,
    cpuShares: cpuShares(Math.max(sum(cpuReq), max(cpuReq))),
  };
}

function write(file: string, value: string): void {
  try {
    writeFileSync(file, value);
  } catch (e) {
    throw new Error(`cannot set ${file} to ${value}: ${(e as Error).message}`, { cause: e });
  }
}

/** Creates and limits the pod cgroup `parent` (e.g. /skiff/pod<uid>). */
export function ensurePodCgroup(parent: string, limits: PodLimits): void {
  if (cgroupV2()) {
    const dir = path.join(ROOT, parent);
    mkdirSync(dir, { recursive: true });
    write(path.join(dir, 'memory.max'), limits.memoryBytes ? String(limits.memoryBytes) : 'max');
    write(path.join(dir, 'cpu.max'), `${limits.cpuQuotaUs || 'max'} ${CPU_PERIOD_US}`);
    // cgroup v2 weight from v1 shares, as runc converts it
    write(path.join(dir, 'cpu.weight'), String(Math.round(1 + ((limits.cpuShares - 2) * 9999) / 262142)));
    return;
  }
  for (const h of V1_LIMITED) mkdirSync(path.join(ROOT, h, parent), { recursive: true });
  const mem = path.join(ROOT, 'memory', parent);
  write(path.join(mem, 'memory.limit_in_bytes'), limits.memoryBytes ? String(limits.memoryBytes) : '-1');
  const cpu = path.join(ROOT, 'cpu', parent);
  write(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  write(path.join(cpu, 'cpu.cfs_quota_us'), limits.cpuQuotaUs ? String(limits.cpuQuotaUs) : '-1');
  write(path.join(cpu, 'cpu.shares'), String(limits.cpuShares));
}

function removeTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let ok = true;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) ok = removeTree(path.join(dir, e.name)) && ok;
  try {
    rmdirSync(dir);
  } catch {
    ok = false;
  }
  return ok;
}

/** Removes the pod cgroup (and leftovers below it) from every hierarchy; false when a process still holds it. */
export function removePodCgroup(parent: string): boolean {
  if (cgroupV2()) return removeTree(path.join(ROOT, parent));
  let ok = true;
  for (const h of readdirSync(ROOT)) {
    const dir = path.join(ROOT, h, parent);
    ok = removeTree(dir) && ok;
  }
  return ok;
}

/** Pod cgroups present under the node's cgroup root: uids. */
export function listPodCgroups(root: string): string[] {
  const dir = cgroupV2() ? path.join(ROOT, root) : path.join(ROOT, 'memory', root);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.startsWith('pod'))
    .map((n) => n.slice(3));
}
