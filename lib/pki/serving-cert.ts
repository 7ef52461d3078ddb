/**
 * A node agent's serving certificate: self-signed, ECDSA P-256, for the node's name and addresses (API servers do not
 * verify it by default, as with kubelets).
 */
import crypto from 'node:crypto';
import { x509 } from './x509.ts';

export async function selfSignedServingCert(
  nodeName: string,
  ips: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256' };
  const keys = await crypto.webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.randomBytes(8).toString('hex'),
    name: [{ CN: [`${nodeName}@${Math.floor(now / 1000)}`] }],
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 365 * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: nodeName },
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const der = await crypto.webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}
