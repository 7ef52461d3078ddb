/**
 * kubectl logs, exec, attach and port-forward end to end, without the pod workers: a private containerd (its CRI
 * driven directly by the test, with the agent's labels), the API server, and the agent's streaming server alone
 * (node-agent/streaming) behind a Node object whose InternalIP is 127.0.0.1. Real kubectl talks to the API server,
 * which forwards to the streaming server with its client certificate, which reads CRI log files and bridges to
 * containerd's streaming server. Also: the streaming server refuses clients other than the API server, and the API
 * server's errors for pods it cannot reach. Skipped, saying why, where containerd or root is missing.
 */
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { startSkiff, type SkiffProcess } from './harness/skiff.ts';
import { KUBECTL_127, kubectlAsync, kubectlStart, type RunningKubectl } from './harness/kubectl.ts';
import { eventually } from './harness/eventually.ts';
import { freePort } from './harness/ports.ts';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Nodes, Pods } from '../lib/kube/resources.ts';
import { ContainerdSupervisor } from '../node-agent/containerd/supervisor.ts';
import { CriClient } from '../node-agent/cri/client.ts';
import type { ContainerConfig, PodSandboxConfig } from '../node-agent/cri/types.ts';
import {
  buildBusyboxImage,
  buildPauseImage,
  busyboxImageName,
  importImage,
  PAUSE_IMAGE,
} from '../node-agent/images/builtin.ts';
import { writeCniConfig } from '../node-agent/network/cni.ts';
import * as L from '../node-agent/pods/labels.ts';
import { RuntimeCache } from '../node-agent/pods/runtime-cache.ts';
import { AgentServer } from '../node-agent/streaming/server.ts';
import { issueClientCert, type Pki } from '../apiserver/auth/pki.ts';

const missing =
  process.getuid?.() !== 0
    ? 'not root (containerd needs it)'
    : !existsSync('/usr/bin/containerd')
      ? 'containerd is not installed (apt-get install -y containerd runc)'
      : !existsSync('/bin/busybox')
        ? 'busybox-static is not installed (apt-get install -y busybox-static)'
        : '';
const NS = 'default';
const NODE = `stream-e2e-${Math.random().toString(36).slice(2, 7)}`;
const KUBECTL_129 = '/usr/lib/google-cloud-sdk/bin/kubectl.1.29';
/** the few pods with a network namespace of their own get it from a bridge of this test's (no other CNI here) */
const BRIDGE = `skst${Math.random().toString(36).slice(2, 8)}`;
const POD_CIDR = `10.219.${Math.floor(Math.random() * 250) + 1}.0/24`;
/** a container for kubectl attach: ticks until the test creates /tmp/stop (see attachUntilEnd) */
const TICKER = 'i=0; while [ ! -e /tmp/stop ]; do echo tick $i; i=$((i+1)); sleep 0.2; done; echo end';
/** kubectl versions that speak SPDY/3.1 for exec and attach (1.30+ use WebSockets) */
const SPDY_KUBECTLS: [string, string][] = (
  [
    ['1.29', KUBECTL_129],
    ['1.27', KUBECTL_127],
  ] as [string, string][]
).filter(([, bin]) => existsSync(bin));

/** An HTTPS GET to the streaming server with the given client credentials: the status code, or the TLS error. */
function agentGet(port: number, p: string, creds: { cert?: string; key?: string }): Promise<number | string> {
  return new Promise((resolve) => {
    const req = https.get({ host: '127.0.0.1', port, path: p, rejectUnauthorized: false, ...creds }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e) => resolve(e.message));
  });
}

describe(
  'streaming: kubectl logs, exec, attach and port-forward through the API server to the node',
  { skip: missing || undefined },
  () => {
    let tmp = '';
    let containerd: ContainerdSupervisor | undefined;
    let cri: CriClient | undefined;
    let runtime: RuntimeCache | undefined;
    let agent: AgentServer | undefined;
    let s: SkiffProcess | undefined;
    let c: Client | undefined;
    let agentPort = 0;
    let busybox = '';
    /** what the agent knows of its pods (the agent's informer, here filled by the test) */
    const known = new Map<string, KubeObject>();
    // kubectl runs beside this process's event loop, which serves the node's streaming port: never the blocking form
    const k = (args: string[], opts: { input?: string; bin?: string; timeoutMs?: number } = {}) =>
      kubectlAsync(s!.kubeconfig, args, { timeoutMs: 60_000, ...opts });
    const kOk = async (args: string[], opts: { input?: string; bin?: string } = {}): Promise<string> => {
      const r = await k(args, opts);
      if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
      return r.stdout;
    };

    /**
     * Follows a ticking container with kubectl attach until it ends: the container ticks until the test creates
     * /tmp/stop, which it does once kubectl has shown a tick (attached for sure), then prints end and exits.
     */
    async function attachUntilEnd(container: string, attach: RunningKubectl) {
      await attach.printed(/tick \d+\n/);
      await cri!.execSync(container, ['touch', '/tmp/stop'], 60);
      return attach.done;
    }

    interface Sandbox {
      id: string;
      config: PodSandboxConfig;
      pod: KubeObject;
    }

    /**
     * The Pod in the API (bound to our node) and its sandbox in the runtime, with the agent's labels; on the host's network
     * (no CNI needed), or with `podNetwork` in a network namespace of its own (the test's bridge).
     */
    async function podWithSandbox(
      name: string,
      containers: string[],
      extra: { annotations?: Record<string, string>; podNetwork?: boolean } = {},
    ): Promise<Sandbox> {
      const created = await c!.create<KubeObject>(Pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: NS, annotations: extra.annotations },
        spec: {
          nodeName: NODE,
          hostNetwork: !extra.podNetwork,
          containers: containers.map((cn) => ({ name: cn, image: busybox })),
        },
      });
      const uid = created.metadata.uid!;
      const labels = { [L.POD_NAME]: name, [L.POD_NAMESPACE]: NS, [L.POD_UID]: uid, [L.MANAGED_BY_NODE]: NODE };
      const logDir = path.join(tmp, 'pods', `${NS}_${name}_${uid}`);
      mkdirSync(logDir, { recursive: true });
      const config: PodSandboxConfig = {
        metadata: { name, namespace: NS, uid, attempt: 0 },
        log_directory: logDir,
        labels: { ...labels, [L.CONTAINER_TYPE]: 'podsandbox' },
        linux: {
          security_context: {
            namespace_options: { network: extra.podNetwork ? 'POD' : 'NODE', pid: 'CONTAINER', ipc: 'POD' },
          },
        },
      } as PodSandboxConfig;
      const id = await cri!.runPodSandbox(config);
      const podIP = extra.podNetwork ? (await cri!.podSandboxStatus(id)).network?.ip : '127.0.0.1';
      assert.ok(podIP, `sandbox of ${name} has no IP`);
      // kubectl port-forward and attach look at the phase first (the pod workers' job, done here by hand)
      const running = await c!.patch<KubeObject>(
        Pods,
        NS,
        name,
        { status: { phase: 'Running', podIP, hostIP: '127.0.0.1' } },
        'merge',
        { subresource: 'status' },
      );
      known.set(`${NS}/${name}`, running);
      return { id, config, pod: running };
    }

    /** One attempt of a container of the pod, started; resolves with its id. */
    async function runContainer(sb: Sandbox, name: string, attempt: number, script: string): Promise<string> {
      const id = await cri!.createContainer(
        sb.id,
        {
          metadata: { name, attempt },
          image: { image: busybox },
          command: ['sh', '-c', script],
          labels: { ...sb.config.labels, [L.CONTAINER_NAME]: name, [L.CONTAINER_TYPE]: 'container' },
          log_path: `${name}/${attempt}.log`,
        } as ContainerConfig,
        sb.config,
      );
      mkdirSync(path.join(sb.config.log_directory!, name), { recursive: true });
      await cri!.startContainer(id);
      await runtime!.refresh(sb.pod.metadata.uid!);
      return id;
    }

    before(async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'skiff-streaming-'));
      const images = path.join(tmp, 'images');
      mkdirSync(images);
      const pause = buildPauseImage(images);
      const bb = buildBusyboxImage(images);
      busybox = busyboxImageName();
      containerd = new ContainerdSupervisor({
        dir: path.join(tmp, 'containerd'),
        sandboxImage: PAUSE_IMAGE,
        log: () => {},
      });
      writeCniConfig({
        confDir: containerd.layout.cniConfDir,
        ipamDir: path.join(tmp, 'ipam'),
        podCIDR: POD_CIDR,
        bridge: BRIDGE,
      });
      await containerd.start();
      importImage(containerd.socket, pause.file);
      importImage(containerd.socket, bb.file);
      cri = new CriClient(containerd.socket);
      s = await startSkiff({ args: ['--disable-scheduler', '--disable-controller-manager'] });
      c = await Client.fromKubeconfig(s.kubeconfig);
      runtime = new RuntimeCache(cri, NODE);
      runtime.start(200, () => {});
      agent = new AgentServer({
        cri,
        runtime,
        pod: (ns, name) => known.get(`${ns}/${name}`),
        clusterCaPem: readFileSync(path.join(s.dataDir, 'pki', 'ca.crt'), 'utf8'),
        nodeName: NODE,
        nodeIP: '127.0.0.1',
        port: 0,
        host: '127.0.0.1',
      });
      agentPort = await agent.start();
      await c.create(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: NODE } });
      await c.patch(
        Nodes,
        undefined,
        NODE,
        {
          status: {
            addresses: [
              { type: 'InternalIP', address: '127.0.0.1' },
              { type: 'Hostname', address: NODE },
            ],
            daemonEndpoints: { kubeletEndpoint: { Port: agentPort } },
          },
        },
        'merge',
        { subresource: 'status' },
      );
    });

    after(async () => {
      try {
        if (cri) {
          for (const sb of await cri.listPodSandbox({ labels: { [L.MANAGED_BY_NODE]: NODE } }).catch(() => [])) {
            await cri.stopPodSandbox(sb.id).catch(() => {});
            await cri.removePodSandbox(sb.id).catch(() => {});
          }
        }
      } finally {
        runtime?.stop();
        cri?.close();
        await agent?.stop().catch(() => {});
        c?.close();
        await s?.stop().catch(() => {});
        await containerd?.stop().catch(() => {});
        spawnSync('ip', ['link', 'del', BRIDGE]);
        if (tmp) {
          // network namespaces the runtime may have left mounted under its state folder
          for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
            const mountPoint = line.split(' ')[1];
            if (mountPoint?.startsWith(`${tmp}/`)) spawnSync('umount', ['-l', mountPoint]);
          }
          rmSync(tmp, { recursive: true, force: true });
        }
      }
    });

    it('kubectl logs: whole, --tail, --timestamps, --limit-bytes, --since, -f until the container ends, --previous', async () => {
      const sb = await podWithSandbox('talk', ['c']);
      await runContainer(sb, 'c', 0, 'echo first attempt; exit 1');
      await eventually(
        'the first attempt exited',
        async () => (await runtime!.refresh(sb.pod.metadata.uid!)).containers[0]?.state === 'CONTAINER_EXITED',
        60_000,
        100,
      );
      // a long line is written by the runtime in several P parts: kubectl sees it whole; after line 3 the container
      // waits on a pipe until the test writes to it, so `logs -f` below surely starts before the container ends
      const long = 'x'.repeat(20_000);
      const second = await runContainer(
        sb,
        'c',
        1,
        `mkfifo /tmp/go; echo line 1; echo line 2; echo ${long}; echo line 3; read go < /tmp/go; i=4; while [ $i -le 9 ]; do echo line $i; i=$((i+1)); done`,
      );
      await eventually('line 3 is logged', async () => (await kOk(['logs', 'talk'])).includes('line 3'), 60_000, 100);

      const all = (await kOk(['logs', 'talk'])).split('\n');
      assert.deepEqual(all.slice(0, 4), ['line 1', 'line 2', long, 'line 3']);
      const raw = readFileSync(path.join(sb.config.log_directory!, 'c', '1.log'), 'utf8');
      assert.match(
        raw,
        / stdout P x+\n/,
        'the runtime split the long line (else this test proves nothing about joining)',
      );

      assert.equal((await kOk(['logs', 'talk', '--tail=2'])).trim().split('\n').length, 2);
      const stamped = (await kOk(['logs', 'talk', '--timestamps', '--tail=1'])).trim();
      assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) line \d$/);
      assert.equal(await kOk(['logs', 'talk', '--limit-bytes=9']), 'line 1\nli');
      const sinceNow = await kOk(['logs', 'talk', `--since-time=${new Date(Date.now() + 60_000).toISOString()}`]);
      assert.equal(sinceNow, '', 'nothing is newer than a minute from now');
      assert.match(await kOk(['logs', 'talk', '--since=1h']), /^line 1\n/);

      // follow: the stream stays open for new lines and ends when the container does; the container goes on only once
      // kubectl has printed the last line there was
      const following = kubectlStart(s!.kubeconfig, ['logs', '-f', 'talk', '--tail=1']);
      await following.printed('line 3\n');
      await cri!.execSync(second, ['sh', '-c', 'echo go > /tmp/go'], 60);
      const follow = await following.done;
      assert.equal(follow.code, 0, `kubectl logs -f: ${follow.stderr}`);
      assert.equal(follow.stdout, 'line 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n');

      assert.equal(await kOk(['logs', 'talk', '--previous']), 'first attempt\n');
      assert.equal(await kOk(['logs', 'talk', '-p', '-c', 'c']), 'first attempt\n');
    });

    it('kubectl logs errors: no previous attempt, waiting container, unknown container, several containers, unscheduled pod, unreachable node', async () => {
      const sb = await podWithSandbox('two', ['a', 'b'], { annotations: {} });
      await runContainer(sb, 'a', 0, 'echo from a; sleep 1000');
      await eventually(
        'a logged',
        async () => (await k(['logs', 'two', '-c', 'a'])).stdout === 'from a\n',
        60_000,
        100,
      );
      const prev = await k(['logs', 'two', '-c', 'a', '--previous']);
      assert.notEqual(prev.code, 0);
      assert.match(prev.stderr, /previous terminated container "a" in pod "two" not found/);
      const waiting = await k(['logs', 'two', '-c', 'b']);
      assert.match(waiting.stderr, /container "b" in pod "two" is waiting to start: ContainerCreating/);
      const unknown = await k(['logs', 'two', '-c', 'nope']);
      assert.match(unknown.stderr, /container nope is not valid for pod two/);
      // the API server asked with no container (kubectl fills one in itself, so ask directly)
      const both = await c!.raw('GET', `/api/v1/namespaces/${NS}/pods/two/log`);
      assert.equal(both.status, 400);
      assert.match(JSON.stringify(both.body), /a container name must be specified for pod two, choose one of: \[a b\]/);

      await c!.create(Pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'nowhere', namespace: NS },
        spec: { containers: [{ name: 'c', image: busybox }] },
      });
      assert.deepEqual(
        await k(['logs', 'nowhere']),
        { code: 0, stdout: '', stderr: '' },
        'the log of a pod not scheduled yet is empty',
      );
      const unscheduled = await k(['exec', 'nowhere', '--', 'true']);
      assert.match(unscheduled.stderr, /pod nowhere does not have a host assigned/);

      const ghost = `${NODE}-gone`;
      await c!.create(Nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: ghost } });
      await c!.create(Pods, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'on-ghost', namespace: NS },
        spec: { nodeName: ghost, containers: [{ name: 'c', image: busybox }] },
      });
      const noAddress = await k(['logs', 'on-ghost']);
      assert.match(noAddress.stderr, /node .*-gone/);
      const closed = await freePort();
      await c!.patch(
        Nodes,
        undefined,
        ghost,
        {
          status: {
            addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
            daemonEndpoints: { kubeletEndpoint: { Port: closed } },
          },
        },
        'merge',
        { subresource: 'status' },
      );
      await eventually(
        'the address reaches the cache',
        async () => !/does not report/.test((await k(['logs', 'on-ghost'])).stderr),
        60_000,
        100,
      );
      const refused = await k(['logs', 'on-ghost']);
      assert.equal(
        refused.stderr.trim(),
        `Error from server: Get "https://127.0.0.1:${closed}/containerLogs/default/on-ghost/c": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
      );
    });

    it('kubectl exec: output, stderr, exit code, stdin; kubectl attach follows the output', async () => {
      const sb = await podWithSandbox('shell', ['c']);
      await runContainer(sb, 'c', 0, 'sleep 1000');
      const ex = await k(['exec', 'shell', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
      assert.equal(ex.code, 3, `exec: ${ex.stderr}`);
      assert.equal(ex.stdout, 'hi\n');
      assert.match(ex.stderr, /oops/);
      assert.equal(await kOk(['exec', 'shell', '--', 'echo', 'a b', 'c']), 'a b c\n');
      assert.equal(
        await kOk(['exec', '-i', 'shell', '--', 'head', '-2'], { input: 'one\ntwo\nthree\n' }),
        'one\ntwo\n',
      );
      const missingContainer = await k(['exec', 'shell', '-c', 'nope', '--', 'true']);
      assert.match(missingContainer.stderr, /container nope is not valid for pod shell/);

      const sb2 = await podWithSandbox('ticker', ['c']);
      const ticker = await runContainer(sb2, 'c', 0, TICKER);
      const attach = await attachUntilEnd(ticker, kubectlStart(s!.kubeconfig, ['attach', 'ticker']));
      assert.match(
        attach.stdout,
        /tick \d+\n[^]*end\n$/,
        `attach (code ${attach.code}): ${attach.stdout}${attach.stderr}`,
      );
      assert.equal(attach.code, 0, `attach: ${attach.stderr}`);
    });

    // kubectl 1.30+ signals the end of stdin with v5.channel.k8s.io's close message; the node passes it on to containerd
    // as the end (FIN) of the stdin stream of its SPDY connection, and containerd closes the process's stdin
    it('kubectl exec -i: the end of stdin reaches the process; the exit code still comes through', async () => {
      const cat = await k(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo done'], {
        input: 'piped\n',
      });
      assert.equal(cat.stdout, 'piped\ndone\n', `exec -i cat (code ${cat.code}): ${cat.stderr}`);
      assert.equal(cat.code, 0);
      const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`).join('\n') + '\n';
      const wc = await k(['exec', '-i', 'shell', '--', 'wc', '-l'], { input: lines });
      assert.equal(wc.stdout.trim(), '500', `exec -i wc -l (code ${wc.code}): ${wc.stderr}`);
      assert.equal(wc.code, 0);
      // more than SPDY's initial window (64 KiB) each way, in many frames
      const big = 'x'.repeat(300_000) + '\n';
      const echoed = await k(['exec', '-i', 'shell', '--', 'cat'], { input: big });
      assert.equal(echoed.code, 0, `exec -i cat of 300 kB: ${echoed.stderr}`);
      assert.equal(echoed.stdout.length, big.length);
      assert.ok(echoed.stdout === big, 'the 300 kB came back unchanged');
      const three = await k(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat >/dev/null; echo bye >&2; exit 3'], {
        input: 'ignored\n',
      });
      assert.equal(three.code, 3, `exit 3 after stdin: ${three.stderr}`);
      assert.match(three.stderr, /bye/);
      // no stdin at all (kubectl without -i): the command runs without waiting for one
      assert.equal(await kOk(['exec', 'shell', '--', 'sh', '-c', 'echo no stdin']), 'no stdin\n');
      // a tty (kubectl uses one only from a terminal, so the API server's side is played here): no stderr stream, the
      // resize channel reaches the terminal, stdin reaches the command through it, and the exit code comes back
      const dir = path.join(s!.dataDir, 'pki');
      const ca = {
        dir,
        caCertPem: readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
        caKeyPem: readFileSync(path.join(dir, 'ca.key'), 'utf8'),
      } as Pki;
      const master = await issueClientCert(ca, 'kube-apiserver-kubelet-client', ['system:masters']);
      // the command waits for the resize to reach its terminal, however long the API server's side takes to send it
      const script =
        'until [ "$(stty size)" = "33 101" ]; do sleep 0.1; done; echo size $(stty size); read l; echo got $l; exit 4';
      const q = new URLSearchParams([
        ['command', 'sh'],
        ['command', '-c'],
        ['command', script],
        ['stdin', 'true'],
        ['stdout', 'true'],
        ['stderr', 'true'],
        ['tty', 'true'],
      ]);
      const ws = new WebSocket(`wss://127.0.0.1:${agentPort}/exec/${NS}/shell/c?${q}`, ['v5.channel.k8s.io'], {
        cert: master.certPem,
        key: master.keyPem,
        rejectUnauthorized: false,
      });
      const got = new Map<number, string>();
      const closed = new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => {
          ws.terminate();
          reject(new Error(`the tty exec did not end; got ${JSON.stringify([...got])}`));
        }, 60_000);
        ws.on('message', (d: Buffer) => got.set(d[0], (got.get(d[0]) ?? '') + d.subarray(1).toString()));
        ws.on('close', () => {
          clearTimeout(deadline);
          resolve();
        });
        ws.on('error', reject);
      });
      closed.catch(() => {}); // awaited below; a failure before then must not go unhandled
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: 101, Height: 33 }))]));
      await eventually('the size is echoed', async () => /size 33 101/.test(got.get(1) ?? ''), 60_000, 50);
      // (no close of stdin here: with a tty, containerd's shim answers the end of stdin by shutting the terminal down)
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('typed\n')]));
      await closed;
      assert.match(got.get(1) ?? '', /size 33 101\r?\n[^]*got typed/, `tty output: ${JSON.stringify(got.get(1))}`);
      assert.equal(got.get(2), undefined, 'no stderr with a tty');
      const status = JSON.parse(got.get(3) ?? '{}');
      assert.equal(status.reason, 'NonZeroExitCode', JSON.stringify(status));
      assert.deepEqual(status.details?.causes, [{ reason: 'ExitCode', message: '4' }]);
    });

    it('kubectl port-forward reaches the pod port over a WebSocket tunnel (kubectl 1.33) and plain SPDY (kubectl 1.29)', async () => {
      const podPort = await freePort();
      const sb = await podWithSandbox('web', ['c']);
      await runContainer(sb, 'c', 0, `echo forwarded > /tmp/i; exec httpd -f -p 127.0.0.1:${podPort} -h /tmp`);
      const versions: [string, string | undefined][] = [
        ['default', undefined],
        ['1.29', existsSync(KUBECTL_129) ? KUBECTL_129 : undefined],
      ];
      for (const [name, bin] of versions) {
        if (name !== 'default' && !bin) continue;
        const local = await freePort();
        // kubectl forwards until it is stopped, once the test is done with the port
        const pf = kubectlStart(s!.kubeconfig, ['port-forward', 'pod/web', `${local}:${podPort}`], { bin });
        const body = await eventually(
          `the forwarded port answers (kubectl ${name})`,
          async () => (await fetch(`http://127.0.0.1:${local}/i`)).text(),
          60_000,
          100,
        ).catch(async (e) => {
          pf.kill();
          const r = await pf.done;
          throw new Error(`${(e as Error).message}; kubectl port-forward (${r.code}): ${r.stdout}${r.stderr}`);
        });
        assert.equal(body, 'forwarded\n');
        const again = await Promise.all([1, 2, 3].map(async () => (await fetch(`http://127.0.0.1:${local}/i`)).text()));
        assert.deepEqual(
          again,
          ['forwarded\n', 'forwarded\n', 'forwarded\n'],
          'concurrent connections each get their stream pair',
        );
        pf.kill();
        const out = await pf.done;
        assert.match(out.stdout, new RegExp(`Forwarding from 127\\.0\\.0\\.1:${local} -> ${podPort}`));
      }
    });

    // kubectl before 1.30 upgrades exec and attach to SPDY/3.1 (v4.channel.k8s.io first): a stream per streamType, the
    // end of stdin a FIN of its stream, the exit status a Status on the error stream
    it(
      'kubectl 1.29 and 1.27 exec and attach over SPDY/3.1: output, stderr, exit code, stdin and its end',
      { skip: SPDY_KUBECTLS.length ? undefined : 'no kubectl older than 1.30' },
      async () => {
        for (const [name, bin] of SPDY_KUBECTLS) {
          const ex = await k(['exec', 'shell', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3'], { bin });
          assert.equal(ex.code, 3, `kubectl ${name} exec: ${ex.stderr}`);
          assert.equal(ex.stdout, 'hi\n');
          assert.match(ex.stderr, /oops/);
          assert.equal(await kOk(['exec', 'shell', '--', 'echo', 'a b', 'c'], { bin }), 'a b c\n');
          const cat = await k(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat; echo done'], {
            input: 'piped\n',
            bin,
          });
          assert.equal(cat.stdout, 'piped\ndone\n', `kubectl ${name} exec -i cat (code ${cat.code}): ${cat.stderr}`);
          assert.equal(cat.code, 0);
          const x = await k(['exec', '-i', 'shell', '--', 'cat'], { input: 'x\n', bin });
          assert.deepEqual(
            x,
            { code: 0, stdout: 'x\n', stderr: '' },
            `kubectl ${name}: echo x | kubectl exec -i -- cat`,
          );
          const big = 'y'.repeat(300_000) + '\n';
          const echoed = await k(['exec', '-i', 'shell', '--', 'cat'], { input: big, bin });
          assert.equal(echoed.code, 0, `kubectl ${name} exec -i cat of 300 kB: ${echoed.stderr}`);
          assert.ok(echoed.stdout === big, `the 300 kB came back unchanged (${echoed.stdout.length} bytes)`);
          const three = await k(['exec', '-i', 'shell', '--', 'sh', '-c', 'cat >/dev/null; echo bye >&2; exit 3'], {
            input: 'ignored\n',
            bin,
          });
          assert.equal(three.code, 3, `kubectl ${name}: exit 3 after stdin: ${three.stderr}`);
          assert.match(three.stderr, /bye/);

          const pod = `ticker-${name.replace('.', '-')}`;
          const sb = await podWithSandbox(pod, ['c']);
          const ticker = await runContainer(sb, 'c', 0, TICKER);
          const attach = await attachUntilEnd(ticker, kubectlStart(s!.kubeconfig, ['attach', pod], { bin }));
          assert.match(
            attach.stdout,
            /tick \d+\n[^]*end\n$/,
            `kubectl ${name} attach (code ${attach.code}): ${attach.stdout}${attach.stderr}`,
          );
          assert.equal(attach.code, 0, `kubectl ${name} attach: ${attach.stderr}`);
        }
      },
    );

    // as kubelet does, the node reaches the pod's ports through the runtime (CRI PortForward), which connects to
    // localhost:port inside the pod's network namespace: a server bound to the pod's loopback only is reachable
    it("kubectl port-forward goes through the runtime: a server on the pod's own 127.0.0.1; a port nobody listens on gives kubectl's error", async () => {
      const sb = await podWithSandbox('private', ['c'], { podNetwork: true });
      const podIP: string = sb.pod.status!.podIP;
      await runContainer(sb, 'c', 0, 'echo private > /tmp/i; exec httpd -f -p 127.0.0.1:8081 -h /tmp');
      const versions: [string, string | undefined][] = [
        ['default', undefined],
        ['1.29', existsSync(KUBECTL_129) ? KUBECTL_129 : undefined],
      ];
      for (const [name, bin] of versions) {
        if (name !== 'default' && !bin) continue;
        const local = await freePort();
        const dead = await freePort();
        const pf = kubectlStart(s!.kubeconfig, ['port-forward', 'pod/private', `${local}:8081`, `${dead}:8082`], {
          bin,
        });
        const body = await eventually(
          `the forwarded port answers (kubectl ${name})`,
          async () => (await fetch(`http://127.0.0.1:${local}/i`)).text(),
          60_000,
          100,
        ).catch(async (e) => {
          pf.kill();
          const r = await pf.done;
          throw new Error(`${(e as Error).message}; kubectl port-forward (${r.code}): ${r.stdout}${r.stderr}`);
        });
        assert.equal(body, 'private\n');
        // nobody listens on 8082 in the pod: the runtime's words come back on the pair's error stream, and kubectl shows
        // them; kubectl itself (client-go's port-forwarder) then closes the whole connection, as it does with kubelet
        const refused = await fetch(`http://127.0.0.1:${dead}/`).then(
          (r) => `HTTP ${r.status}`,
          (e: Error) => `failed: ${e.message}`,
        );
        assert.match(refused, /^failed/);
        await pf.printed('lost connection to pod', { stderr: true });
        pf.kill();
        const out = await pf.done;
        assert.match(out.stdout, new RegExp(`Forwarding from 127\\.0\\.0\\.1:${dead} -> 8082`));
        assert.match(
          out.stderr,
          new RegExp(
            `an error occurred forwarding ${dead} -> 8082: error forwarding port 8082 to pod [0-9a-f]+, uid : .*failed to connect to localhost:8082 inside namespace .*connection refused`,
          ),
          out.stderr,
        );
        assert.match(out.stderr, /lost connection to pod/);
      }
      // the forwards above each began anew after the previous one failed; the runtime's connection is per kubectl's
      // (and the agent itself cannot reach the server at the pod's address)
      const direct = await fetch(`http://${podIP}:8081/i`).then(
        () => 'answered',
        () => 'unreachable',
      );
      assert.equal(direct, 'unreachable', "the server listens on the pod's loopback only");
    });

    it('the streaming server answers only the API server: no client certificate, another CA, or a user outside system:masters are refused', async () => {
      // a pod the node does not run: the API server's certificate gets past authentication to a 404
      const p = `/containerLogs/${NS}/not-here/c`;
      const none = await agentGet(agentPort, p, {});
      assert.equal(typeof none, 'string', `no client certificate got HTTP ${none}`);
      const dir = path.join(s!.dataDir, 'pki');
      const ca: Pki = {
        dir,
        caCertPem: readFileSync(path.join(dir, 'ca.crt'), 'utf8'),
        caKeyPem: readFileSync(path.join(dir, 'ca.key'), 'utf8'),
      } as Pki;
      const user = await issueClientCert(ca, 'alice', ['developers']);
      assert.equal(await agentGet(agentPort, p, { cert: user.certPem, key: user.keyPem }), 403);
      const master = await issueClientCert(ca, 'kube-apiserver-kubelet-client', ['system:masters']);
      assert.equal(await agentGet(agentPort, p, { cert: master.certPem, key: master.keyPem }), 404);
      // a certificate of another CA with the right group
      const { ensurePki } = await import('../apiserver/auth/pki.ts');
      const other = await ensurePki(path.join(tmp, 'other-pki'));
      const foreign = await issueClientCert(other, 'kube-apiserver-kubelet-client', ['system:masters']);
      const res = await agentGet(agentPort, p, { cert: foreign.certPem, key: foreign.keyPem });
      assert.equal(typeof res, 'string', `a certificate of another CA got HTTP ${res}`);
    });
  },
);
