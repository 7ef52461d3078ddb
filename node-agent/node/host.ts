/** Facts about the host a node reports: capacity, addresses, system info, and pressure on memory, disk and PIDs. */
import { readFileSync, statfsSync } from 'node:fs';
import os from 'node:os';

export interface HostFacts {
  cpus: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

export function hostFacts(dataDir: string): HostFacts {
  const fs = statfsSync(dataDir);
  const osRelease = read('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'Linux';
  return {
    cpus: os.cpus().length,
    memoryBytes: os.totalmem(),
    ephemeralStorageBytes: Number(fs.blocks) * Number(fs.bsize),
    machineID: read('/etc/machine-id'),
    systemUUID: read('/sys/class/dmi/id/product_uuid').toLowerCase(),
    bootID: read('/proc/sys/kernel/random/boot_id'),
    kernelVersion: os.release(),
    osImage: pretty,
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
  };
}

/** The first IPv4 address of a non-loopback interface, or 127.0.0.1 */
export function defaultNodeIP(): string {
  // the interface of the default route first
  const route = read('/proc/net/route')
    .split('\n')
    .slice(1)
    .find((l) => l.split(/\s+/)[1] === '00000000');
  const iface = route?.split(/\s+/)[0];
  const all = os.networkInterfaces();
  const pick = (name: string) => all[name]?.find((a) => a.family === 'IPv4' && !a.internal)?.address;
  if (iface && pick(iface)) return pick(iface)!;
  for (const name of Object.keys(all)) {
    const a = pick(name);
    if (a) return a;
  }
  return '127.0.0.1';
}

export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
  memoryAvailableBytes: number;
  diskAvailableFraction: number;
}

/** kubelet's default hard eviction thresholds: memory.available < 100Mi, nodefs.available < 10%, pids 90% used */
export function pressure(dataDir: string): Pressure {
  const meminfo = read('/proc/meminfo');
  const avail = Number(/^MemAvailable:\s+(\d+) kB/m.exec(meminfo)?.[1] ?? 0) * 1024;
  const fs = statfsSync(dataDir);
  const diskFrac = Number(fs.bavail) / Math.max(1, Number(fs.blocks));
  const pidMax = Number(read('/proc/sys/kernel/pid_max')) || 32768;
  const threads = Number(/^(\S+)\s+(\S+)\s+(\S+)\s+\d+\/(\d+)/.exec(read('/proc/loadavg'))?.[4] ?? 0);
  return {
    memory: avail > 0 && avail < 100 * 1024 * 1024,
    disk: diskFrac < 0.1,
    pid: threads > pidMax * 0.9,
    memoryAvailableBytes: avail,
    diskAvailableFraction: diskFrac,
  };
}
