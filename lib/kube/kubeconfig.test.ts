import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readKubeconfig } from './kubeconfig.ts';

function withKubeconfig(text: string, files: Record<string, string>, fn: (file: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'skiff-kc-'));
  try {
    for (const [n, c] of Object.entries(files)) writeFileSync(path.join(dir, n), c);
    const file = path.join(dir, 'config');
    writeFileSync(file, text);
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const doc = (cluster: string, user: string) => `apiVersion: v1
kind: Config
current-context: c
contexts:
- name: c
  context: {cluster: k, user: u}
- name: other
  context: {cluster: nope, user: nope}
clusters:
- name: k
  cluster:
${cluster}
users:
- name: u
  user:
${user}
`;

describe('kubeconfig reader', () => {
  it('reads the current context: server, CA data, client certificate files relative to the kubeconfig', () => {
    const ca = Buffer.from('CA PEM').toString('base64');
    withKubeconfig(
      doc(
        `    server: https://10.0.0.1:6443\n    certificate-authority-data: ${ca}`,
        '    client-certificate: crt.pem\n    client-key: key.pem',
      ),
      { 'crt.pem': 'CERT', 'key.pem': 'KEY' },
      (f) => {
        const c = readKubeconfig(f)!;
        assert.equal(c.server, 'https://10.0.0.1:6443');
        assert.equal(c.ca?.toString(), 'CA PEM');
        assert.equal(c.cert?.toString(), 'CERT');
        assert.equal(c.key?.toString(), 'KEY');
        assert.equal(c.rejectUnauthorized, true);
        assert.deepEqual(c.headers, {});
      },
    );
  });

  it('bearer tokens (inline or from a file), basic auth and insecure-skip-tls-verify', () => {
    withKubeconfig(
      doc('    server: https://h\n    insecure-skip-tls-verify: true', '    tokenFile: tok'),
      { tok: 'abc\n' },
      (f) => {
        const c = readKubeconfig(f)!;
        assert.equal(c.headers.Authorization, 'Bearer abc');
        assert.equal(c.rejectUnauthorized, false);
      },
    );
    withKubeconfig(doc('    server: https://h', '    username: ann\n    password: pw'), {}, (f) => {
      assert.equal(readKubeconfig(f)!.headers.Authorization, `Basic ${Buffer.from('ann:pw').toString('base64')}`);
    });
  });

  it('leaves exec plugins to client-node, and names what is missing', () => {
    withKubeconfig(
      doc('    server: https://h', '    exec: {command: get-token, apiVersion: client.authentication.k8s.io/v1}'),
      {},
      (f) => {
        assert.equal(readKubeconfig(f), undefined);
      },
    );
    withKubeconfig(doc('    certificate-authority-data: eA==', '    token: t'), {}, (f) => {
      assert.throws(() => readKubeconfig(f), /cluster "k" has no server/);
    });
  });
});
