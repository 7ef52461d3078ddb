import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import yaml from 'js-yaml';
import {
  ensurePki,
  issueClientCert,
  kubeconfigYaml,
  writeAdminKubeconfig,
  TokenStore,
  makeAuthenticator,
  serviceAccountTokenAuthenticator,
  tlsServerOptions,
  signServiceAccountToken,
  verifyServiceAccountToken,
  firstServiceIp,
  type Pki,
  type UserInfo,
} from './index.ts';

const tmpDirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'skiff-auth-'));
  tmpDirs.push(d);
  return d;
}
after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('pki', () => {
  let dataDir: string;
  let pki: Pki;
  before(async () => {
    dataDir = tempDir();
    pki = await ensurePki(path.join(dataDir, 'pki'), { extraSans: ['skiff.example.com', '203.0.113.7'] });
  });

  test('files are written owner-only and a reload gives the same CA and serving certificate', async () => {
    for (const f of ['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key', 'sa.key', 'sa.pub']) {
      assert.equal(mode(path.join(pki.dir, f)), 0o600, f);
    }
    assert.equal(mode(pki.dir), 0o700);
    const again = await ensurePki(pki.dir, { extraSans: ['skiff.example.com', '203.0.113.7'] });
    assert.equal(again.caCertPem, pki.caCertPem);
    assert.equal(again.caKeyPem, pki.caKeyPem);
    assert.equal(again.servingCertPem, pki.servingCertPem);
    assert.equal(again.saKeyPem, pki.saKeyPem);
  });

  test('the serving certificate is signed by the CA and valid for the local and in-cluster names', () => {
    const ca = new crypto.X509Certificate(pki.caCertPem);
    const cert = new crypto.X509Certificate(pki.servingCertPem);
    assert.ok(ca.ca);
    assert.ok(!cert.ca);
    assert.ok(cert.verify(ca.publicKey));
    assert.ok(cert.checkIssued(ca));
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(pki.servingKeyPem)));
    for (const host of [
      'localhost',
      'kubernetes',
      'kubernetes.default.svc.cluster.local',
      'skiff.example.com',
      os.hostname().toLowerCase(),
    ]) {
      assert.equal(cert.checkHost(host), host, host);
    }
    for (const ip of ['127.0.0.1', '::1', '10.96.0.1', '203.0.113.7']) assert.equal(cert.checkIP(ip), ip, ip);
    assert.equal(cert.checkHost('evil.example.com'), undefined);
    assert.equal(cert.checkIP('198.51.100.1'), undefined);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86400e3;
    assert.ok(days > 360 && days < 367, `serving cert lasts ${days} days`);
    const caYears = (Date.parse(ca.validTo) - Date.now()) / (365 * 86400e3);
    assert.ok(caYears > 9.9 && caYears < 10.1, `CA lasts ${caYears} years`);
  });

  test('a missing SAN or a certificate from another CA renews the serving certificate, never the CA', async () => {
    const dir = path.join(tempDir(), 'pki');
    const first = await ensurePki(dir);
    const widened = await ensurePki(dir, { extraSans: ['new.example.com'] });
    assert.equal(widened.caCertPem, first.caCertPem);
    assert.notEqual(widened.servingCertPem, first.servingCertPem);
    assert.equal(new crypto.X509Certificate(widened.servingCertPem).checkHost('new.example.com'), 'new.example.com');

    const other = await ensurePki(path.join(tempDir(), 'pki'));
    fs.writeFileSync(path.join(dir, 'apiserver.crt'), other.servingCertPem);
    fs.writeFileSync(path.join(dir, 'apiserver.key'), other.servingKeyPem);
    const fixed = await ensurePki(dir, { extraSans: ['new.example.com'] });
    assert.equal(fixed.caCertPem, first.caCertPem);
    assert.ok(
      new crypto.X509Certificate(fixed.servingCertPem).verify(new crypto.X509Certificate(first.caCertPem).publicKey),
    );
  });

  test('a CA certificate without its key is an error that says what to do', async () => {
    const dir = path.join(tempDir(), 'pki');
    await ensurePki(dir);
    fs.rmSync(path.join(dir, 'ca.key'));
    await assert.rejects(ensurePki(dir), /ca\.key is missing.*restore it, or remove both/);
  });

  test('client certificates carry the user as CN and each group as an O', async () => {
    const { certPem, keyPem } = await issueClientCert(pki, 'alice', ['dev,ops', 'system:masters'], 2);
    const cert = new crypto.X509Certificate(certPem);
    assert.deepEqual(
      cert.toLegacyObject().subject,
      Object.assign(Object.create(null), { CN: 'alice', O: ['dev,ops', 'system:masters'] }),
    );
    assert.ok(cert.verify(new crypto.X509Certificate(pki.caCertPem).publicKey));
    assert.ok(cert.checkPrivateKey(crypto.createPrivateKey(keyPem)));
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86400e3;
    assert.ok(days > 1.9 && days < 2.1);
  });

  test('first IP of a service CIDR', () => {
    assert.equal(firstServiceIp('10.96.0.0/12'), '10.96.0.1');
    assert.equal(firstServiceIp('10.100.7.9/16'), '10.100.0.1');
    assert.equal(firstServiceIp('fd00:10:96::/112'), 'fd00:10:96::1');
    assert.throws(() => firstServiceIp('10.96.0.0'), /invalid service CIDR/);
  });
});

describe('kubeconfig', () => {
  test('kubeconfigYaml has one cluster, user and current context, with the data base64-encoded', () => {
    const doc = yaml.load(
      kubeconfigYaml({ server: 'https://127.0.0.1:6443', caPem: 'CA', certPem: 'CERT', keyPem: 'KEY' }),
    ) as any;
    assert.equal(doc.kind, 'Config');
    assert.equal(doc['current-context'], 'skiff');
    assert.deepEqual(doc.contexts, [{ name: 'skiff', context: { cluster: 'skiff', user: 'skiff-admin' } }]);
    assert.deepEqual(doc.clusters, [
      {
        name: 'skiff',
        cluster: {
          server: 'https://127.0.0.1:6443',
          'certificate-authority-data': Buffer.from('CA').toString('base64'),
        },
      },
    ]);
    assert.deepEqual(doc.users, [
      {
        name: 'skiff-admin',
        user: {
          'client-certificate-data': Buffer.from('CERT').toString('base64'),
          'client-key-data': Buffer.from('KEY').toString('base64'),
        },
      },
    ]);
    const withToken = yaml.load(kubeconfigYaml({ server: 'https://x', caPem: 'CA', token: 't0k', user: 'bob' })) as any;
    assert.deepEqual(withToken.users, [{ name: 'bob', user: { token: 't0k' } }]);
    assert.throws(() => kubeconfigYaml({ server: 'https://x', caPem: 'CA', certPem: 'C' }), /needs its key/);
  });

  test('writeAdminKubeconfig writes 0600 and keeps a valid admin certificate across restarts', async () => {
    const dataDir = tempDir();
    const pki = await ensurePki(path.join(dataDir, 'pki'));
    const file = await writeAdminKubeconfig(dataDir, pki, 'https://127.0.0.1:1111');
    assert.equal(file, path.join(dataDir, 'kubeconfig'));
    assert.equal(mode(file), 0o600);
    const first = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    await writeAdminKubeconfig(dataDir, pki, 'https://127.0.0.1:2222');
    const second = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    assert.equal(second.clusters[0].cluster.server, 'https://127.0.0.1:2222');
    assert.equal(second.users[0].user['client-certificate-data'], first.users[0].user['client-certificate-data']);
    assert.equal(
      second.clusters[0].cluster['certificate-authority-data'],
      Buffer.from(pki.caCertPem).toString('base64'),
    );

    // a certificate from another CA is replaced
    const stranger = await ensurePki(path.join(tempDir(), 'pki'));
    await writeAdminKubeconfig(dataDir, stranger, 'https://127.0.0.1:2222');
    const third = yaml.load(fs.readFileSync(file, 'utf8')) as any;
    assert.notEqual(third.users[0].user['client-certificate-data'], first.users[0].user['client-certificate-data']);
  });
});

describe('tokens', () => {
  test('ensure creates a random token once, persists it, and updates groups', async () => {
    const file = path.join(tempDir(), 'pki', 'tokens.csv');
    const store = await TokenStore.open(file);
    assert.equal(store.lookup('nope'), undefined);
    const [t1, t1again] = await Promise.all([store.ensure('bob', ['dev', 'ops']), store.ensure('bob', ['dev', 'ops'])]);
    assert.equal(t1, t1again);
    assert.match(t1, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(mode(file), 0o600);
    const t2 = await store.ensure('carol', []);
    assert.notEqual(t1, t2);
    const reopened = await TokenStore.open(file);
    assert.deepEqual(
      { ...reopened.lookup(t1), uid: undefined },
      { name: 'bob', uid: undefined, groups: ['dev', 'ops'] },
    );
    assert.equal(await reopened.ensure('bob', ['dev', 'ops']), t1);
    assert.equal(await reopened.ensure('bob', ['admins']), t1);
    assert.deepEqual(reopened.lookup(t1)?.groups, ['admins']);
    assert.deepEqual((await TokenStore.open(file)).lookup(t1)?.groups, ['admins']);
    await assert.rejects(store.ensure('dave', ['a,b']), /contain no ','/);
  });

  test('reads kube-apiserver token files: quoted group lists, optional groups, blank lines', async () => {
    const file = path.join(tempDir(), 'tokens.csv');
    fs.writeFileSync(file, '\uFEFFtok1,alice,u1,"g1,g2"\r\n\ntok2,bob,u2\n"tok,3",carol,u3,g3\n');
    const store = await TokenStore.open(file);
    assert.deepEqual(store.lookup('tok1'), { name: 'alice', uid: 'u1', groups: ['g1', 'g2'] });
    assert.deepEqual(store.lookup('tok2'), { name: 'bob', uid: 'u2', groups: [] });
    assert.deepEqual(store.lookup('tok,3'), { name: 'carol', uid: 'u3', groups: ['g3'] });
    fs.writeFileSync(file, 'tok1,alice\n');
    await assert.rejects(TokenStore.open(file), /line 1 must have at least 3 columns/);
  });
});

describe('service account tokens', () => {
  let pki: Pki;
  before(async () => {
    pki = await ensurePki(path.join(tempDir(), 'pki'));
  });

  test('sign and verify round trip with Kubernetes claims', () => {
    const token = signServiceAccountToken(pki, {
      namespace: 'ns1',
      name: 'builder',
      uid: 'sa-uid',
      pod: { name: 'p', uid: 'p-uid' },
    });
    const [h] = token.split('.');
    assert.deepEqual(Object.keys(JSON.parse(Buffer.from(h!, 'base64url').toString())).sort(), ['alg', 'kid']);
    const c = verifyServiceAccountToken(pki, token);
    assert.equal(c.sub, 'system:serviceaccount:ns1:builder');
    assert.equal(c.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(c.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal(c.exp - c.iat, 3600);
    assert.equal(c.nbf, c.iat);
    assert.deepEqual(c['kubernetes.io'], {
      namespace: 'ns1',
      pod: { name: 'p', uid: 'p-uid' },
      serviceaccount: { name: 'builder', uid: 'sa-uid' },
    });
  });

  test('tampered, expired, foreign and wrong-audience tokens are rejected', async () => {
    const token = signServiceAccountToken(pki, { namespace: 'ns1', name: 'builder' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    claims.sub = 'system:serviceaccount:kube-system:admin';
    claims['kubernetes.io'] = { namespace: 'kube-system', serviceaccount: { name: 'admin', uid: '' } };
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    assert.throws(() => verifyServiceAccountToken(pki, forged), /invalid signature/);
    const badSig = `${h}.${p}.${Buffer.from(s, 'base64url').reverse().toString('base64url')}`;
    assert.throws(() => verifyServiceAccountToken(pki, badSig), /invalid signature/);
    const old = signServiceAccountToken(pki, { namespace: 'ns1', name: 'b', now: 1_000_000, expirationSeconds: 60 });
    assert.throws(() => verifyServiceAccountToken(pki, old), /expired/);
    const other = await ensurePki(path.join(tempDir(), 'pki'));
    assert.throws(
      () => verifyServiceAccountToken(pki, signServiceAccountToken(other, { namespace: 'a', name: 'b' })),
      /invalid signature/,
    );
    const aud = signServiceAccountToken(pki, { namespace: 'a', name: 'b', audiences: ['vault'] });
    assert.throws(() => verifyServiceAccountToken(pki, aud), /audiences/);
    assert.equal(verifyServiceAccountToken(pki, aud, { audiences: ['vault'] }).sub, 'system:serviceaccount:a:b');
    assert.throws(() => verifyServiceAccountToken(pki, 'a.b'), /not a JWT/);
  });
});

describe('service account token authenticator', () => {
  let pki: Pki;
  before(async () => {
    pki = await ensurePki(path.join(tempDir(), 'pki'));
  });

  test('a token verified once still expires, and its bound objects are checked on every request', () => {
    const now = Math.floor(Date.now() / 1000);
    const token = signServiceAccountToken(pki, { namespace: 'ns1', name: 'builder', now, expirationSeconds: 600 });
    const opts = { now, valid: true };
    const auth = serviceAccountTokenAuthenticator(pki, Object.assign(opts, { validate: () => opts.valid }));
    assert.equal(auth(token)?.name, 'system:serviceaccount:ns1:builder');
    assert.equal(auth(token)?.name, 'system:serviceaccount:ns1:builder');
    opts.valid = false;
    assert.equal(auth(token), undefined, 'validate is asked again for a token verified before');
    opts.valid = true;
    opts.now = now + 600;
    assert.equal(auth(token), undefined, 'a token verified before is refused once expired');
    const [h, p] = token.split('.');
    assert.equal(auth(`${h}.${p}.AAAA`), undefined, 'another signature is verified on its own');
  });
});

/** an https server on 127.0.0.1 that answers /whoami with the authenticated user (null if none) */
async function startServer(
  pki: Pki,
  tokens: TokenStore,
  extra?: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => boolean,
) {
  const authenticate = makeAuthenticator(tokens, { tokenAuthenticators: [serviceAccountTokenAuthenticator(pki)] });
  const server = https.createServer(tlsServerOptions(pki), (req, res) => {
    if (extra?.(req, res)) return;
    const user = authenticate(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(user ?? null));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function whoami(
  port: number,
  opts: { ca: string; cert?: string; key?: string; token?: string },
): Promise<UserInfo | null> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/whoami',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        agent: false,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('authentication over TLS', () => {
  let pki: Pki;
  let tokens: TokenStore;
  let server: Awaited<ReturnType<typeof startServer>>;
  before(async () => {
    const dir = tempDir();
    pki = await ensurePki(path.join(dir, 'pki'));
    tokens = await TokenStore.open(path.join(dir, 'pki', 'tokens.csv'));
    server = await startServer(pki, tokens);
  });
  after(() => server?.close());

  test('admin client certificate -> skiff-admin in system:masters', async () => {
    const { certPem, keyPem } = await issueClientCert(pki, 'skiff-admin', ['system:masters']);
    assert.deepEqual(await whoami(server.port, { ca: pki.caCertPem, cert: certPem, key: keyPem }), {
      name: 'skiff-admin',
      groups: ['system:masters', 'system:authenticated'],
    });
  });

  test('group names with commas survive the certificate', async () => {
    const { certPem, keyPem } = await issueClientCert(pki, 'alice', ['dev,ops', 'qa']);
    assert.deepEqual(await whoami(server.port, { ca: pki.caCertPem, cert: certPem, key: keyPem }), {
      name: 'alice',
      groups: ['dev,ops', 'qa', 'system:authenticated'],
    });
  });

  test('bearer token -> its user; unknown token and no credentials -> unauthenticated', async () => {
    const token = await tokens.ensure('bob', ['dev']);
    const user = await whoami(server.port, { ca: pki.caCertPem, token });
    assert.equal(user?.name, 'bob');
    assert.deepEqual(user?.groups, ['dev', 'system:authenticated']);
    assert.equal(await whoami(server.port, { ca: pki.caCertPem, token: token.slice(1) }), null);
    assert.equal(await whoami(server.port, { ca: pki.caCertPem }), null);
  });

  test('a certificate from another CA is not trusted', async () => {
    const other = await ensurePki(path.join(tempDir(), 'pki'));
    const { certPem, keyPem } = await issueClientCert(other, 'skiff-admin', ['system:masters']);
    assert.equal(await whoami(server.port, { ca: pki.caCertPem, cert: certPem, key: keyPem }), null);
  });

  test('service account token -> system:serviceaccount user; tampered token -> unauthenticated', async () => {
    const token = signServiceAccountToken(pki, {
      namespace: 'team-a',
      name: 'ci',
      uid: 'u-1',
      pod: { name: 'runner', uid: 'p-1' },
    });
    const user = await whoami(server.port, { ca: pki.caCertPem, token });
    assert.equal(user?.name, 'system:serviceaccount:team-a:ci');
    assert.equal(user?.uid, 'u-1');
    assert.deepEqual(user?.groups, ['system:serviceaccounts', 'system:serviceaccounts:team-a', 'system:authenticated']);
    assert.deepEqual(user?.extra?.['authentication.kubernetes.io/pod-name'], ['runner']);
    assert.equal(
      await whoami(server.port, {
        ca: pki.caCertPem,
        token: token.slice(0, -2) + (token.endsWith('AA') ? 'BB' : 'AA'),
      }),
      null,
    );
  });
});

const KUBECTL = '/usr/bin/kubectl';
test(
  'kubectl accepts the admin kubeconfig (and a token kubeconfig)',
  { skip: !fs.existsSync(KUBECTL) && 'kubectl is not installed' },
  async () => {
    const dataDir = tempDir();
    const pki = await ensurePki(path.join(dataDir, 'pki'));
    const tokens = await TokenStore.open(path.join(dataDir, 'pki', 'tokens.csv'));
    const authenticate = makeAuthenticator(tokens);
    const server = await startServer(pki, tokens, (req, res) => {
      if (!authenticate(req)) {
        res.statusCode = 401;
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'Unauthorized',
            reason: 'Unauthorized',
            code: 401,
          }),
        );
        return true;
      }
      if (new URL(req.url ?? '/', 'https://x').pathname !== '/version') return false;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ major: '1', minor: '33', gitVersion: 'v1.33.0', platform: 'linux/amd64' }));
      return true;
    });
    try {
      const run = (kubeconfig: string) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          execFile(
            KUBECTL,
            ['--kubeconfig', kubeconfig, 'version', '-o', 'json'],
            { timeout: 20_000, env: { ...process.env, HOME: dataDir } },
            (err, stdout, stderr) =>
              resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
          );
        });
      const server0 = `https://127.0.0.1:${server.port}`;
      const admin = await writeAdminKubeconfig(dataDir, pki, server0);
      const r = await run(admin);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).serverVersion?.gitVersion, 'v1.33.0');

      const tokenFile = path.join(dataDir, 'token.kubeconfig');
      fs.writeFileSync(
        tokenFile,
        kubeconfigYaml({ server: server0, caPem: pki.caCertPem, token: await tokens.ensure('bob', []), user: 'bob' }),
      );
      const t = await run(tokenFile);
      assert.equal(t.code, 0, t.stderr);
      assert.equal(JSON.parse(t.stdout).serverVersion?.gitVersion, 'v1.33.0');

      // a wrong token gets 401, which kubectl reports as a failure
      fs.writeFileSync(
        tokenFile,
        kubeconfigYaml({ server: server0, caPem: pki.caCertPem, token: 'wrong', user: 'bob' }),
      );
      const bad = await run(tokenFile);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /Unauthorized|must be logged in/i);
    } finally {
      await server.close();
    }
  },
);
