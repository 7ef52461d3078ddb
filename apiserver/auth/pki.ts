/**
 * The cluster's public key infrastructure, kept as PEM files in one folder (dataDir/pki):
 *   ca.crt / ca.key               the cluster CA (10 years), signs the serving and client certificates
 *   apiserver.crt / apiserver.key the API server's serving certificate (1 year), renewed on start when needed
 *   sa.key / sa.pub               the key pair that signs service account tokens
 * All keys are ECDSA P-256. Every file is 0600, the folder 0700.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { x509 } from '../../lib/pki/x509.ts';
import { readPrivateFile, writePrivateFile, ensurePrivateDir } from './private-files.ts';
import { servingNames, type ServingNames } from './serving-names.ts';

export interface Pki {
  dir: string;
  caCertPem: string;
  caKeyPem: string;
  servingCertPem: string;
  servingKeyPem: string;
  /** service account token signing key (PKCS#8) and its public key (SPKI) */
  saKeyPem: string;
  saPubPem: string;
}

export interface PkiOptions {
  /** more DNS names or IP addresses for the serving certificate */
  extraSans?: string[];
  /** the Service CIDR; its first address (the `kubernetes` Service) goes into the serving certificate. Default 10.96.0.0/12 */
  serviceCidr?: string;
}

export const PKI_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  servingCert: 'apiserver.crt',
  servingKey: 'apiserver.key',
  saKey: 'sa.key',
  saPub: 'sa.pub',
} as const;

const DAY_MS = 24 * 3600 * 1000;
const CA_DAYS = 3650;
const SERVING_DAYS = 365;
export const CLIENT_CERT_DAYS = 365;
/** certificates that expire within this window are replaced */
export const RENEW_BEFORE_MS = 30 * DAY_MS;
/** notBefore is set this far back to tolerate clock skew between machines */
const BACKDATE_MS = 5 * 60 * 1000;
const EC_ALG: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING_ALG: EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
export const CA_COMMON_NAME = 'skiff-ca';
export const SERVING_COMMON_NAME = 'skiff-apiserver';

/** load the PKI from `dir`, creating whatever is missing, and renew the serving certificate if needed */
export async function ensurePki(dir: string, opts: PkiOptions = {}): Promise<Pki> {
  await ensurePrivateDir(dir);
  const file = (name: string) => path.join(dir, name);
  const read = (name: string) => readPrivateFile(file(name));

  // the CA: created once; never replaced silently, since every issued credential depends on it
  let caCertPem = await read(PKI_FILES.caCert);
  let caKeyPem = await read(PKI_FILES.caKey);
  if (caCertPem === undefined && caKeyPem === undefined) {
    ({ certPem: caCertPem, keyPem: caKeyPem } = await createCa());
    await writePrivateFile(file(PKI_FILES.caKey), caKeyPem);
    await writePrivateFile(file(PKI_FILES.caCert), caCertPem);
  } else if (caCertPem === undefined || caKeyPem === undefined) {
    const missing = caCertPem === undefined ? PKI_FILES.caCert : PKI_FILES.caKey;
    throw new Error(
      `${file(missing)} is missing but its pair exists: restore it, or remove both ${PKI_FILES.caCert} and ${PKI_FILES.caKey} to create a new CA (existing kubeconfigs and tokens signed by the old one stop working)`,
    );
  }
  checkPair(caCertPem, caKeyPem, file(PKI_FILES.caCert));
  const ca = new crypto.X509Certificate(caCertPem);
  if (!ca.ca) throw new Error(`${file(PKI_FILES.caCert)} is not a CA certificate (basicConstraints CA:FALSE)`);
  if (Date.parse(ca.validTo) <= Date.now()) {
    throw new Error(
      `the cluster CA ${file(PKI_FILES.caCert)} expired on ${ca.validTo}: remove ${PKI_FILES.caCert} and ${PKI_FILES.caKey} to create a new one, then use the new kubeconfig`,
    );
  }

  // the serving certificate: renewed when a name is missing, it expires soon, or it is not from this CA
  const names = servingNames(opts);
  let servingCertPem = await read(PKI_FILES.servingCert);
  let servingKeyPem = await read(PKI_FILES.servingKey);
  if (
    servingCertPem === undefined ||
    servingKeyPem === undefined ||
    servingCertProblem(servingCertPem, servingKeyPem, ca, names)
  ) {
    ({ certPem: servingCertPem, keyPem: servingKeyPem } = await issueServingCert(caCertPem, caKeyPem, names));
    await writePrivateFile(file(PKI_FILES.servingKey), servingKeyPem);
    await writePrivateFile(file(PKI_FILES.servingCert), servingCertPem);
  }

  // the service account signing key pair
  let saKeyPem = await read(PKI_FILES.saKey);
  let saPubPem = await read(PKI_FILES.saPub);
  if (saKeyPem === undefined) {
    const keys = generateKeys();
    saKeyPem = keys.keyPem;
    saPubPem = keys.publicPem;
    await writePrivateFile(file(PKI_FILES.saKey), saKeyPem);
    await writePrivateFile(file(PKI_FILES.saPub), saPubPem);
  } else {
    const derived = crypto.createPublicKey(saKeyPem).export({ type: 'spki', format: 'pem' }).toString();
    if (saPubPem !== derived) {
      saPubPem = derived;
      await writePrivateFile(file(PKI_FILES.saPub), saPubPem);
    }
  }

  return { dir, caCertPem, caKeyPem, servingCertPem, servingKeyPem, saKeyPem, saPubPem: saPubPem! };
}

/** issue a client certificate signed by the cluster CA: CN = user name, one O per group (as Kubernetes reads them) */
export async function issueClientCert(
  pki: Pki,
  user: string,
  groups: string[],
  days = CLIENT_CERT_DAYS,
): Promise<{ certPem: string; keyPem: string }> {
  if (!user) throw new Error('a client certificate needs a user name (its CN)');
  if (!(days > 0)) throw new Error(`client certificate lifetime must be a positive number of days, got ${days}`);
  const subject: x509.JsonName = [{ CN: [user] }, ...groups.map((g) => ({ O: [g] }))];
  return issue(pki.caCertPem, pki.caKeyPem, subject, days, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}

/**
 * Why a client certificate cannot be reused (undefined if it can): not from this CA, expiring within 30 days,
 * another subject, or a key that does not match.
 */
export function clientCertProblem(
  pki: Pki,
  certPem: string,
  keyPem: string,
  user: string,
  groups: string[],
): string | undefined {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) return 'the key does not match the certificate';
  } catch (err) {
    return `unreadable certificate or key: ${(err as Error).message}`;
  }
  const ca = new crypto.X509Certificate(pki.caCertPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the cluster CA';
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return `expires on ${cert.validTo}`;
  const subject = cert.toLegacyObject().subject as Record<string, string | string[] | undefined>;
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same(list(subject.CN), [user]) || !same(list(subject.O), groups))
    return `subject is ${cert.subject.replace(/\n/g, ', ')}`;
  return undefined;
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = await crypto.webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [CA_COMMON_NAME] }],
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + CA_DAYS * DAY_MS),
    signingAlgorithm: SIGNING_ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

async function issueServingCert(
  caCertPem: string,
  caKeyPem: string,
  names: ServingNames,
): Promise<{ certPem: string; keyPem: string }> {
  const san = [
    ...names.dns.map((value) => ({ type: 'dns' as const, value })),
    ...names.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return issue(caCertPem, caKeyPem, [{ CN: [SERVING_COMMON_NAME] }], SERVING_DAYS, [
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(san),
  ]);
}

/** a new key pair and a certificate for it signed by the CA */
async function issue(
  caCertPem: string,
  caKeyPem: string,
  subject: x509.JsonName,
  days: number,
  extensions: x509.Extension[],
): Promise<{ certPem: string; keyPem: string }> {
  const ca = new x509.X509Certificate(caCertPem);
  const caKey = await importPrivateKey(caKeyPem);
  const keys = await crypto.webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject,
    issuer: ca.subject,
    notBefore: new Date(now - BACKDATE_MS),
    notAfter: new Date(now + days * DAY_MS),
    signingAlgorithm: SIGNING_ALG,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportPrivateKey(keys.privateKey) };
}

/** why the serving certificate must be replaced, or undefined if it is fine */
function servingCertProblem(
  certPem: string,
  keyPem: string,
  ca: crypto.X509Certificate,
  names: ServingNames,
): string | undefined {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(certPem);
    if (!cert.checkPrivateKey(crypto.createPrivateKey(keyPem))) return 'key does not match';
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the cluster CA';
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return 'expires soon';
  const opts = { subject: 'never' as const, wildcards: false };
  for (const dns of names.dns) if (cert.checkHost(dns, opts) === undefined) return `missing DNS name ${dns}`;
  for (const ip of names.ips) if (cert.checkIP(ip) === undefined) return `missing IP address ${ip}`;
  return undefined;
}

function generateKeys(): { keyPem: string; publicPem: string } {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function exportPrivateKey(key: CryptoKey): Promise<string> {
  const der = await crypto.webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = crypto.createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
  return crypto.webcrypto.subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']) as Promise<CryptoKey>;
}

function checkPair(certPem: string, keyPem: string, where: string): void {
  let ok: boolean;
  try {
    ok = new crypto.X509Certificate(certPem).checkPrivateKey(crypto.createPrivateKey(keyPem));
  } catch (err) {
    throw new Error(`cannot read ${where} or its key: ${(err as Error).message}`, { cause: err });
  }
  if (!ok) throw new Error(`${where} does not match its private key`);
}

/** 16 random bytes, positive and without a leading zero byte, as DER INTEGER serials must be */
function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}
