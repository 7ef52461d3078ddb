import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { selfSignedServingCert } from './serving-cert.ts';

test('a self-signed serving certificate names the node and its addresses and matches its key', async () => {
  const { certPem, keyPem } = await selfSignedServingCert('n1', ['10.0.0.7']);
  const cert = new crypto.X509Certificate(certPem);
  assert.match(cert.subjectAltName ?? '', /DNS:n1/);
  assert.match(cert.subjectAltName ?? '', /IP Address:10\.0\.0\.7/);
  assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));
  assert.ok(cert.verify(cert.publicKey), 'signed by its own key');
  assert.ok(Date.parse(cert.validTo) > Date.now() + 300 * 86_400_000);
});
