/**
 * A kubeconfig reader for what skiff's components need: the current context's server, CA (data, file, or
 * insecure-skip-tls-verify), client certificate and key (data or files), bearer token (or tokenFile) and basic auth.
 * Kubeconfigs with exec plugins or auth providers are left to @kubernetes/client-node (loaded only then): it weighs
 * about 100 MB of memory in every process that imports it.
 */
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';

export interface Connection {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  rejectUnauthorized: boolean;
  headers: Record<string, string>;
}

/** The kubeconfig file client-go would use: the argument, else the first existing file of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(file?: string): string {
  if (file) return file;
  const env = process.env.KUBECONFIG;
  if (env) {
    const first = env.split(path.delimiter).find((f) => f && existsSync(f));
    if (first) return first;
  }
  return path.join(os.homedir(), '.kube', 'config');
}

/** the parts of a kubeconfig read here, with the names kubectl writes */
interface Kubeconfig {
  'current-context'?: string;
  contexts?: Named<'context', { cluster?: string; user?: string }>[];
  clusters?: Named<'cluster', KubeconfigCluster>[];
  users?: Named<'user', KubeconfigUser>[];
}

type Named<K extends string, T> = { name?: string } & { [key in K]?: T };

interface KubeconfigCluster {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}

interface KubeconfigUser {
  token?: string;
  tokenFile?: string;
  username?: string;
  password?: string;
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  exec?: unknown;
  'auth-provider'?: unknown;
}

function named<T extends { name?: string }>(
  list: T[] | undefined,
  name: string | undefined,
  what: string,
  file: string,
): T {
  const hit = (list ?? []).find((x) => x?.name === name);
  if (!hit) throw new Error(`${file}: no ${what} named "${name ?? ''}"`);
  return hit;
}

/** The connection of the current context, or undefined when only client-node can build it (exec, auth-provider). */
export function readKubeconfig(file: string): Connection | undefined {
  let loaded: unknown;
  try {
    loaded = yaml.load(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read the kubeconfig ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (!loaded || typeof loaded !== 'object') throw new Error(`${file} is not a kubeconfig`);
  const doc = loaded as Kubeconfig;
  const dir = path.dirname(file);
  const ctxName = doc['current-context'];
  if (!ctxName) throw new Error(`${file}: no current-context is set`);
  const ctx = named(doc.contexts, ctxName, 'context', file).context ?? {};
  const cluster = named(doc.clusters, ctx.cluster, 'cluster', file).cluster ?? {};
  const user: KubeconfigUser = ctx.user !== undefined ? (named(doc.users, ctx.user, 'user', file).user ?? {}) : {};
  if (user.exec || user['auth-provider']) return undefined;
  if (!cluster.server) throw new Error(`${file}: cluster "${ctx.cluster}" has no server`);
  const fileOrData = (data: string | undefined, f: string | undefined): Buffer | undefined =>
    data ? Buffer.from(data, 'base64') : f ? readFileSync(path.isAbsolute(f) ? f : path.join(dir, f)) : undefined;
  const headers: Record<string, string> = {};
  const token =
    user.token ??
    (user.tokenFile
      ? readFileSync(path.isAbsolute(user.tokenFile) ? user.tokenFile : path.join(dir, user.tokenFile), 'utf8').trim()
      : undefined);
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (user.username)
    headers.Authorization = `Basic ${Buffer.from(`${user.username}:${user.password ?? ''}`).toString('base64')}`;
  return {
    server: cluster.server,
    ca: fileOrData(cluster['certificate-authority-data'], cluster['certificate-authority']),
    cert: fileOrData(user['client-certificate-data'], user['client-certificate']),
    key: fileOrData(user['client-key-data'], user['client-key']),
    rejectUnauthorized: !cluster['insecure-skip-tls-verify'],
    headers,
  };
}
