/**
 * Pod volumes on the node, as the kubelet lays them out: one folder per volume under the pod's folder; ConfigMap,
 * Secret, downwardAPI and projected volumes written atomically (files are links through `..data` to a timestamped
 * folder, swapped in one rename), emptyDir (tmpfs for medium Memory), hostPath with its type checks. Each container
 * gets its mounts (subPath, readOnly, propagation), the pod's hosts file and its termination-message file.
 */
import { execFileSync } from 'node:child_process';
import {
  readFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  openSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import type { Mount } from '../cri/types.ts';
import type {
  ConfigMapVolumeSource,
  Container,
  DownwardApiItem,
  KeyToPath,
  Pod,
  SecretProjection,
  ServiceAccountTokenProjection,
} from '../objects.ts';
import { ConfigError, fieldValue, resourceValue, type ObjectSource, type PodRuntimeFacts } from './env.ts';

export interface PreparedVolume {
  hostPath: string;
  /** ConfigMap, Secret, downwardAPI and projected volumes are always mounted read-only */
  readOnly: boolean;
}

/** file path (relative) -> content and mode */
type Payload = Map<string, { data: Buffer; mode: number }>;

const DEFAULT_MODE = 0o644;

function checkRelative(p: string): void {
  if (path.isAbsolute(p) || p.split('/').includes('..'))
    throw new ConfigError(`invalid path "${p}": must be relative and may not contain '..'`);
}

/** Writes `payload` into `dir` atomically: readers see the old set of files or the new one, never a mix. */
export function writeAtomically(dir: string, payload: Payload): boolean {
  mkdirSync(dir, { recursive: true });
  const dataLink = path.join(dir, '..data');
  let current: string | undefined;
  try {
    current = readlinkSync(dataLink);
  } catch {
    current = undefined;
  }
  if (current && sameContent(path.join(dir, current), payload)) return false;
  const stamp = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${process.pid}.${Math.random().toString(36).slice(2, 8)}`;
  const fresh = path.join(dir, stamp);
  mkdirSync(fresh);
  for (const [rel, { data, mode }] of payload) {
    const f = path.join(fresh, rel);
    mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(f, data);
    chmodSync(f, mode);
  }
  const tmpLink = path.join(dir, '..data_tmp');
  rmSync(tmpLink, { force: true });
  symlinkSync(stamp, tmpLink);
  renameSync(tmpLink, dataLink);
  // user-visible names: top-level entries link through ..data
  const top = new Set([...payload.keys()].map((k) => k.split('/')[0]));
  for (const name of top) {
    const link = path.join(dir, name);
    if (!existsSync(link)) symlinkSync(path.join('..data', name), link);
  }
  for (const entry of readdirSync(dir)) {
    if (entry.startsWith('..')) {
      if (entry !== '..data' && entry !== stamp) rmSync(path.join(dir, entry), { recursive: true, force: true });
    } else if (!top.has(entry)) rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  return true;
}

function sameContent(dir: string, payload: Payload): boolean {
  try {
    for (const [rel, { data, mode }] of payload) {
      const f = path.join(dir, rel);
      const st = statSync(f);
      if ((st.mode & 0o7777) !== mode || st.size !== data.length) return false;
      // compared by size and mode first; content last
      if (!readFileSync(f).equals(data)) return false;
    }
    return countFiles(dir) === payload.size;
  } catch {
    return false;
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}

function keyPayload(
  data: Record<string, string>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  what: string,
  optional: boolean,
): Payload {
  const out: Payload = new Map();
  if (items?.length) {
    for (const it of items) {
      checkRelative(it.path);
      if (!(it.key in data)) {
        if (optional) continue;
        throw new ConfigError(`configmap references non-existent config key: ${it.key}`.replace('configmap', what));
      }
      out.set(it.path, { data: Buffer.from(data[it.key]), mode: it.mode ?? defaultMode });
    }
  } else for (const [k, v] of Object.entries(data)) out.set(k, { data: Buffer.from(v), mode: defaultMode });
  return out;
}

async function configMapPayload(
  ns: string,
  src: ConfigMapVolumeSource,
  source: ObjectSource,
  defaultMode: number,
): Promise<Payload> {
  const cm = await source.configMap(ns, src.name);
  if (!cm) {
    if (src.optional) return new Map();
    throw new ConfigError(`configmap "${src.name}" not found`);
  }
  const data: Record<string, string> = { ...(cm.data ?? {}) };
  for (const [k, v] of Object.entries(cm.binaryData ?? {}))
    data[k] = Buffer.from(String(v), 'base64').toString('latin1');
  return keyPayload(data, src.items, src.defaultMode ?? defaultMode, 'configmap', !!src.optional);
}

/** a Secret volume or projection: the Secret's name comes apart (secretName in a volume, name in a projection) */
type SecretSource = Omit<SecretProjection, 'name'> & { defaultMode?: number };

async function secretPayload(
  ns: string,
  src: SecretSource,
  name: string,
  source: ObjectSource,
  defaultMode: number,
): Promise<Payload> {
  const s = await source.secret(ns, name);
  if (!s) {
    if (src.optional) return new Map();
    throw new ConfigError(`secret "${name}" not found`);
  }
  const out: Payload = new Map();
  const raw = s.data ?? {};
  const decoded: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(raw)) decoded[k] = Buffer.from(String(v), 'base64');
  const mode = src.defaultMode ?? defaultMode;
  if (src.items?.length) {
    for (const it of src.items) {
      checkRelative(it.path);
      if (!(it.key in decoded)) {
        if (src.optional) continue;
        throw new ConfigError(`secret references non-existent secret key: ${it.key}`);
      }
      out.set(it.path, { data: decoded[it.key], mode: it.mode ?? mode });
    }
  } else for (const [k, v] of Object.entries(decoded)) out.set(k, { data: v, mode });
  return out;
}

function downwardPayload(
  pod: Pod,
  items: DownwardApiItem[] | undefined,
  defaultMode: number,
  facts: PodRuntimeFacts,
  allocatable: Record<string, string>,
): Payload {
  const out: Payload = new Map();
  for (const it of items ?? []) {
    checkRelative(it.path);
    let v: string;
    if (it.fieldRef) v = fieldValue(pod, it.fieldRef.fieldPath, facts);
    else if (it.resourceFieldRef) {
      const ref = it.resourceFieldRef;
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find(
        (x) => x.name === ref.containerName,
      );
      if (!c) throw new ConfigError(`container "${ref.containerName}" not found for downwardAPI item "${it.path}"`);
      v = resourceValue(c, ref.resource, ref.divisor, allocatable);
    } else continue;
    out.set(it.path, { data: Buffer.from(v), mode: it.mode ?? defaultMode });
  }
  return out;
}

/** the token of a projected serviceAccountToken source, asked for through TokenRequest by the source */
async function tokenPayload(
  pod: Pod,
  volume: string,
  src: ServiceAccountTokenProjection,
  source: ObjectSource,
  mode: number,
): Promise<Payload> {
  checkRelative(String(src.path ?? ''));
  if (!source.serviceAccountToken)
    throw new ConfigError(`projected volume "${volume}": serviceAccountToken sources are not supported by this node`);
  let token: string;
  try {
    token = await source.serviceAccountToken(pod, src);
  } catch (e) {
    throw new ConfigError(`failed to fetch token for volume "${volume}": ${(e as Error).message}`);
  }
  return new Map([[String(src.path), { data: Buffer.from(token), mode }]]);
}

function isMounted(dir: string): boolean {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    return mounts.split('\n').some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

function hostPathCheck(p: string, type: string | undefined): void {
  const st = (() => {
    try {
      return statSync(p);
    } catch {
      return undefined;
    }
  })();
  switch (type ?? '') {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) mkdirSync(p, { recursive: true, mode: 0o755 });
      else if (!st.isDirectory()) throw new ConfigError(`hostPath type check failed: ${p} is not a directory`);
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw new ConfigError(`hostPath type check failed: ${p} is not a directory`);
      return;
    case 'FileOrCreate':
      if (!st) {
        mkdirSync(path.dirname(p), { recursive: true });
        closeSync(openSync(p, 'a', 0o644));
      } else if (!st.isFile()) throw new ConfigError(`hostPath type check failed: ${p} is not a file`);
      return;
    case 'File':
      if (!st?.isFile()) throw new ConfigError(`hostPath type check failed: ${p} is not a file`);
      return;
    case 'Socket':
      if (!st?.isSocket()) throw new ConfigError(`hostPath type check failed: ${p} is not a socket file`);
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw new ConfigError(`hostPath type check failed: ${p} is not a character device`);
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new ConfigError(`hostPath type check failed: ${p} is not a block device`);
      return;
    default:
      throw new ConfigError(`hostPath type "${type}" is not supported`);
  }
}

/**
 * Creates or refreshes every volume of the pod under `dir` (the pod's folder); returns where each one is on the host.
 * Called on every sync, so ConfigMap and Secret changes reach the files of running pods.
 */
export async function prepareVolumes(
  pod: Pod,
  dir: string,
  source: ObjectSource,
  facts: PodRuntimeFacts,
  allocatable: Record<string, string>,
): Promise<Map<string, PreparedVolume>> {
  const ns = pod.metadata.namespace!;
  const out = new Map<string, PreparedVolume>();
  for (const v of pod.spec?.volumes ?? []) {
    const at = (plugin: string) => path.join(dir, 'volumes', plugin, v.name);
    if (v.emptyDir) {
      const p = at('kubernetes.io~empty-dir');
      if (!existsSync(p)) {
        mkdirSync(p, { recursive: true });
        chmodSync(p, 0o777);
      }
      if (v.emptyDir.medium === 'Memory' && !isMounted(p)) {
        const size = v.emptyDir.sizeLimit ? [`-o`, `size=${toBytes(v.emptyDir.sizeLimit)}`] : [];
        execFileSync('mount', ['-t', 'tmpfs', ...size, 'tmpfs', p]);
        chmodSync(p, 0o777);
      }
      out.set(v.name, { hostPath: p, readOnly: false });
    } else if (v.hostPath) {
      hostPathCheck(v.hostPath.path, v.hostPath.type);
      out.set(v.name, { hostPath: v.hostPath.path, readOnly: false });
    } else if (v.configMap) {
      const p = at('kubernetes.io~configmap');
      writeAtomically(p, await configMapPayload(ns, v.configMap, source, DEFAULT_MODE));
      out.set(v.name, { hostPath: p, readOnly: true });
    } else if (v.secret) {
      const p = at('kubernetes.io~secret');
      writeAtomically(p, await secretPayload(ns, v.secret, v.secret.secretName, source, DEFAULT_MODE));
      out.set(v.name, { hostPath: p, readOnly: true });
    } else if (v.downwardAPI) {
      const p = at('kubernetes.io~downward-api');
      writeAtomically(
        p,
        downwardPayload(pod, v.downwardAPI.items, v.downwardAPI.defaultMode ?? DEFAULT_MODE, facts, allocatable),
      );
      out.set(v.name, { hostPath: p, readOnly: true });
    } else if (v.projected) {
      const p = at('kubernetes.io~projected');
      const mode = v.projected.defaultMode ?? DEFAULT_MODE;
      const all: Payload = new Map();
      for (const s of v.projected.sources ?? []) {
        let part: Payload = new Map();
        if (s.configMap) part = await configMapPayload(ns, { defaultMode: mode, ...s.configMap }, source, mode);
        else if (s.secret)
          part = await secretPayload(ns, { defaultMode: mode, ...s.secret }, s.secret.name, source, mode);
        else if (s.downwardAPI) part = downwardPayload(pod, s.downwardAPI.items, mode, facts, allocatable);
        else if (s.serviceAccountToken) part = await tokenPayload(pod, v.name, s.serviceAccountToken, source, mode);
        for (const [k, val] of part) all.set(k, val);
      }
      writeAtomically(p, all);
      out.set(v.name, { hostPath: p, readOnly: true });
    } else {
      const kind = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
      throw new ConfigError(`volume "${v.name}": volume type ${kind} is not supported by this node`);
    }
  }
  return out;
}

function toBytes(q: string): string {
  const m = /^(\d+)([KMGT]i?)?$/.exec(q);
  if (!m) return q;
  const mult: Record<string, number> = {
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
  };
  return String(Number(m[1]) * (m[2] ? mult[m[2]] : 1));
}

/** The mounts of one container: its volumeMounts, then /etc/hosts and the termination-message file. */
export function containerMounts(
  c: Container,
  volumes: Map<string, PreparedVolume>,
  extras: { hostsFile?: string; terminationLog?: string },
): Mount[] {
  const mounts: Mount[] = [];
  for (const vm of c.volumeMounts ?? []) {
    const vol = volumes.get(vm.name);
    if (!vol) throw new ConfigError(`volumeMount "${vm.name}" of container "${c.name}" names no volume of the pod`);
    let host = vol.hostPath;
    const sub = vm.subPath ?? '';
    if (sub) {
      checkRelative(sub);
      host = path.join(host, sub);
      if (!existsSync(host)) mkdirSync(host, { recursive: true, mode: 0o755 });
    }
    const prop =
      vm.mountPropagation === 'Bidirectional'
        ? 'PROPAGATION_BIDIRECTIONAL'
        : vm.mountPropagation === 'HostToContainer'
          ? 'PROPAGATION_HOST_TO_CONTAINER'
          : 'PROPAGATION_PRIVATE';
    mounts.push({
      container_path: vm.mountPath,
      host_path: host,
      readonly: !!vm.readOnly || vol.readOnly,
      propagation: prop,
    });
  }
  const mounted = new Set(mounts.map((m) => m.container_path));
  if (extras.hostsFile && !mounted.has('/etc/hosts'))
    mounts.push({ container_path: '/etc/hosts', host_path: extras.hostsFile, readonly: false });
  const tmp = c.terminationMessagePath ?? '/dev/termination-log';
  if (extras.terminationLog && tmp && !mounted.has(tmp))
    mounts.push({ container_path: tmp, host_path: extras.terminationLog, readonly: false });
  return mounts;
}

/** Removes the pod's folder, unmounting memory-backed emptyDirs first. */
export function removePodDir(dir: string): void {
  const empty = path.join(dir, 'volumes', 'kubernetes.io~empty-dir');
  if (existsSync(empty)) {
    for (const name of readdirSync(empty)) {
      const p = path.join(empty, name);
      if (isMounted(p)) {
        try {
          execFileSync('umount', [p]);
        } catch {
          execFileSync('umount', ['-l', p]);
        }
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
