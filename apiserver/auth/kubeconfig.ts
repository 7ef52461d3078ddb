/** kubeconfig files for reaching skiff's API server, as kubectl and client libraries read them. */
import path from 'node:path';
import yaml from 'js-yaml';
import { issueClientCert, clientCertProblem, type Pki } from './pki.ts';
import { readPrivateFile, writePrivateFile } from './private-files.ts';

export const CLUSTER_NAME = 'skiff';
export const ADMIN_USER = 'skiff-admin';
/** Kubernetes' superuser group: members pass every authorization check */
export const ADMIN_GROUPS = ['system:masters'];

export interface KubeconfigOptions {
  /** the API server's URL, e.g. https://127.0.0.1:6443 */
  server: string;
  /** the CA that signed the serving certificate (embedded as certificate-authority-data) */
  caPem: string;
  /** client certificate and key (PEM) */
  certPem?: string;
  keyPem?: string;
  /** or a bearer token */
  token?: string;
  /** the user entry's name; default skiff-admin */
  user?: string;
  /** cluster and context name; default skiff */
  cluster?: string;
}

/** a kubeconfig with one cluster, one user and one context, the current one */
export function kubeconfigYaml(opts: KubeconfigOptions): string {
  if ((opts.certPem === undefined) !== (opts.keyPem === undefined)) {
    throw new Error('kubeconfig: a client certificate needs its key and a key its certificate');
  }
  const cluster = opts.cluster ?? CLUSTER_NAME;
  const userName = opts.user ?? ADMIN_USER;
  const b64 = (pem: string) => Buffer.from(pem).toString('base64');
  const user: Record<string, string> = {};
  if (opts.certPem !== undefined) user['client-certificate-data'] = b64(opts.certPem);
  if (opts.keyPem !== undefined) user['client-key-data'] = b64(opts.keyPem);
  if (opts.token !== undefined) user.token = opts.token;
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: opts.server, 'certificate-authority-data': b64(opts.caPem) } }],
    users: [{ name: userName, user }],
    contexts: [{ name: cluster, context: { cluster, user: userName } }],
    'current-context': cluster,
    preferences: {},
  };
  return yaml.dump(config, { lineWidth: -1, noRefs: true });
}

/**
 * Write dataDir/kubeconfig (0600) for the cluster administrator (CN=skiff-admin, O=system:masters). The client
 * certificate already in that file is kept while it is from this CA and valid for more than 30 days; otherwise a new one
 * is issued. Returns the file's path.
 */
export async function writeAdminKubeconfig(dataDir: string, pki: Pki, server: string): Promise<string> {
  const file = path.join(dataDir, 'kubeconfig');
  let cred = existingCredential(await readPrivateFile(file), ADMIN_USER);
  if (!cred || clientCertProblem(pki, cred.certPem, cred.keyPem, ADMIN_USER, ADMIN_GROUPS) !== undefined) {
    cred = await issueClientCert(pki, ADMIN_USER, ADMIN_GROUPS);
  }
  const text = kubeconfigYaml({
    server,
    caPem: pki.caCertPem,
    certPem: cred.certPem,
    keyPem: cred.keyPem,
    user: ADMIN_USER,
  });
  await writePrivateFile(file, text);
  return file;
}

/** the client certificate and key of `user` in a kubeconfig's text, if it has them */
function existingCredential(text: string | undefined, user: string): { certPem: string; keyPem: string } | undefined {
  if (!text) return undefined;
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch {
    return undefined; // unreadable: it is replaced
  }
  const users = (doc as { users?: Array<{ name?: string; user?: Record<string, unknown> }> } | null)?.users;
  const entry = Array.isArray(users) ? users.find((u) => u?.name === user)?.user : undefined;
  const cert = entry?.['client-certificate-data'];
  const key = entry?.['client-key-data'];
  if (typeof cert !== 'string' || typeof key !== 'string') return undefined;
  return { certPem: Buffer.from(cert, 'base64').toString(), keyPem: Buffer.from(key, 'base64').toString() };
}
