import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { dialError, NodeProxy } from './proxy.ts';
import { ApiError } from '../rest/status.ts';
import { selfSignedServingCert } from '../../lib/pki/serving-cert.ts';
import { eventually } from '../../test/harness/eventually.ts';

const node = (
  port: number,
  addresses = [
    { type: 'Hostname', address: 'n1' },
    { type: 'InternalIP', address: '127.0.0.1' },
  ],
) => ({
  metadata: { name: 'n1' },
  status: { addresses, daemonEndpoints: { kubeletEndpoint: { Port: port } } },
});

function proxyFor(pods: Record<string, any>, nodes: Record<string, any>): NodeProxy {
  return new NodeProxy({
    getPod: (ns, name) => pods[`${ns}/${name}`],
    getNode: (name) => nodes[name],
    clientCertPem: '',
    clientKeyPem: '',
  });
}

function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `not an ApiError: ${e}`);
    return e;
  }
  assert.fail('no error');
}

describe('NodeProxy.location', () => {
  const pod = (spec: any, annotations?: Record<string, string>) => ({
    metadata: { name: 'p', namespace: 'ns', annotations },
    spec: { nodeName: 'n1', ...spec },
  });
  const one = pod({ containers: [{ name: 'app' }] });
  const two = pod({ initContainers: [{ name: 'init' }], containers: [{ name: 'a' }, { name: 'b' }] });
  const annotated = pod(
    { containers: [{ name: 'a' }, { name: 'b' }] },
    { 'kubectl.kubernetes.io/default-container': 'b' },
  );
  const unscheduled = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [{ name: 'app' }] } };
  const p = proxyFor(
    { 'ns/one': one, 'ns/two': two, 'ns/annotated': annotated, 'ns/unscheduled': unscheduled },
    { n1: node(10250) },
  );

  it('maps the subresources to the agent paths, keeping the query without container', () => {
    const q = new URLSearchParams('follow=true&tailLines=3&container=app');
    assert.deepEqual(p.location('ns', 'one', 'log', q), {
      host: '127.0.0.1',
      port: 10250,
      path: '/containerLogs/ns/one/app?follow=true&tailLines=3',
    });
    const exec = p.location(
      'ns',
      'one',
      'exec',
      new URLSearchParams('command=sh&command=-c&command=echo+hi&stdout=true'),
    )!;
    assert.equal(exec.path, '/exec/ns/one/app?command=sh&command=-c&command=echo+hi&stdout=true');
    assert.equal(p.location('ns', 'one', 'attach', new URLSearchParams())!.path, '/attach/ns/one/app');
    assert.equal(
      p.location('ns', 'one', 'portforward', new URLSearchParams('ports=8080'))!.path,
      '/portForward/ns/one?ports=8080',
    );
  });

  it('defaults the container: the only one, else the default-container annotation, else an error naming all', () => {
    assert.match(
      p.location('ns', 'annotated', 'log', new URLSearchParams())!.path,
      /^\/containerLogs\/ns\/annotated\/b$/,
    );
    const e = apiError(() => p.location('ns', 'two', 'exec', new URLSearchParams()));
    assert.equal(e.code, 400);
    assert.equal(e.message, 'a container name must be specified for pod p, choose one of: [init a b]');
    assert.match(
      p.location('ns', 'two', 'log', new URLSearchParams('container=init'))!.path,
      /\/init$/,
      'init containers can be named',
    );
    const bad = apiError(() => p.location('ns', 'one', 'log', new URLSearchParams('container=nope')));
    assert.equal(bad.message, 'container nope is not valid for pod p');
  });

  it('an unscheduled pod: an empty log, a BadRequest for exec; unknown pods and nodes are NotFound', () => {
    assert.equal(p.location('ns', 'unscheduled', 'log', new URLSearchParams()), undefined);
    assert.equal(
      apiError(() => p.location('ns', 'unscheduled', 'exec', new URLSearchParams())).message,
      'pod unscheduled does not have a host assigned',
    );
    assert.equal(apiError(() => p.location('ns', 'ghost', 'log', new URLSearchParams())).code, 404);
    const orphan = proxyFor({ 'ns/one': one }, {});
    assert.equal(apiError(() => orphan.location('ns', 'one', 'log', new URLSearchParams())).code, 404);
  });

  it('prefers InternalIP, and refuses a node that reports no address or port', () => {
    const hostOnly = proxyFor(
      { 'ns/one': one },
      {
        n1: node(10250, [
          { type: 'ExternalIP', address: '192.0.2.1' },
          { type: 'Hostname', address: 'n1' },
        ]),
      },
    );
    assert.equal(hostOnly.location('ns', 'one', 'log', new URLSearchParams())!.host, '192.0.2.1');
    const noPort = proxyFor({ 'ns/one': one }, { n1: node(0) });
    const e = apiError(() => noPort.location('ns', 'one', 'log', new URLSearchParams()));
    assert.equal(e.code, 503);
    assert.match(e.message, /node n1 does not report an address and port/);
  });
});

describe('dialError', () => {
  it('words connection failures as Kubernetes does', () => {
    const loc = { host: '10.0.0.5', port: 10250 };
    assert.equal(
      dialError(loc, Object.assign(new Error('x'), { code: 'ECONNREFUSED' })),
      'dial tcp 10.0.0.5:10250: connect: connection refused',
    );
    assert.equal(
      dialError(loc, Object.assign(new Error('x'), { code: 'ETIMEDOUT' })),
      'dial tcp 10.0.0.5:10250: i/o timeout',
    );
    assert.equal(dialError({ host: 'fd00::1', port: 1 }, new Error('odd')), 'dial tcp [fd00::1]:1: odd');
  });
});

describe('NodeProxy.log and upgrade against an agent', () => {
  let agent: https.Server;
  let port = 0;
  const seen: { path?: string; headers?: http.IncomingHttpHeaders; cert?: boolean }[] = [];
  const pod = { metadata: { name: 'p', namespace: 'ns' }, spec: { nodeName: 'n1', containers: [{ name: 'c' }] } };
  let front: http.Server;
  let frontPort = 0;

  before(async () => {
    const { certPem, keyPem } = await selfSignedServingCert('n1', ['127.0.0.1']);
    agent = https.createServer({ cert: certPem, key: keyPem }, (req, res) => {
      seen.push({ path: req.url, headers: req.headers });
      if (req.url!.includes('missing'))
        return void res.writeHead(400).end('container "missing" in pod "p" is waiting to start: ContainerCreating');
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('one\n');
      setTimeout(() => res.end('two\n'), 50);
    });
    agent.on('upgrade', (req, socket) => {
      seen.push({ path: req.url, headers: req.headers });
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    });
    await new Promise<void>((r) => agent.listen(0, '127.0.0.1', () => r()));
    port = (agent.address() as net.AddressInfo).port;
    const proxy = proxyFor({ 'ns/p': pod }, { n1: node(port) });
    front = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      proxy.log(req, res, url, 'ns', 'p').catch((e: ApiError) => res.writeHead(e.code).end(`${e.reason}|${e.message}`));
    });
    front.on('upgrade', (req, socket, head) =>
      proxy.upgrade(req, socket, head, new URL(req.url!, 'http://x'), 'ns', 'p', 'exec'),
    );
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', () => r()));
    frontPort = (front.address() as net.AddressInfo).port;
  });

  after(async () => {
    front?.closeAllConnections();
    agent?.closeAllConnections();
    await new Promise((r) => front?.close(r));
    await new Promise((r) => agent?.close(r));
  });

  it('streams the log through, and keeps the agent error status and message', async () => {
    const ok = await fetch(`http://127.0.0.1:${frontPort}/?follow=true&container=c`);
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), 'one\ntwo\n');
    assert.equal(seen.at(-1)!.path, '/containerLogs/ns/p/c?follow=true');
    const bad = await fetch(`http://127.0.0.1:${frontPort}/?container=c&x=missing`);
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'BadRequest|container "missing" in pod "p" is waiting to start: ContainerCreating');
  });

  it('an agent that does not answer: Get "https://host:port/path": dial tcp ...: connection refused', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const dead = (closed.address() as net.AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const proxy = proxyFor({ 'ns/p': pod }, { n1: node(dead) });
    await assert.rejects(
      proxy.log({ method: 'GET' } as http.IncomingMessage, {} as http.ServerResponse, new URL('http://x/'), 'ns', 'p'),
      (e: ApiError) =>
        e.code === 500 &&
        e.message ===
          `Get "https://127.0.0.1:${dead}/containerLogs/ns/p/c": dial tcp 127.0.0.1:${dead}: connect: connection refused`,
    );
  });

  it('splices an upgrade to the agent byte for byte, without the caller credentials', async () => {
    const sock = net.connect(frontPort, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    sock.write(
      `GET /api/v1/namespaces/ns/pods/p/exec?command=sh&stdin=true HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer secret\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`,
    );
    let got = '';
    sock.on('data', (d) => (got += d));
    const until = (text: string) =>
      eventually(`"${text}" received`, () => got.includes(text)).catch((e: unknown) => {
        throw new Error(`${(e as Error).message}: got ${JSON.stringify(got)}`, { cause: e });
      });
    await until('101 Switching Protocols');
    sock.write('ping');
    await until('echo:ping');
    sock.destroy();
    const last = seen.at(-1)!;
    assert.equal(last.path, '/exec/ns/p/c?command=sh&stdin=true');
    assert.equal(last.headers!['sec-websocket-protocol'], 'v5.channel.k8s.io');
    assert.equal(last.headers!.authorization, undefined);
  });
});
