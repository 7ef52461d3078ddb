/**
 * Service proxy benchmark, on a real node (`skiff server` with its agent, containerd pods):
 * - HTTP throughput with wrk from the host to one busybox httpd pod, straight to the pod IP and through the Service's
 *   virtual IP (the agent's iptables rules), alternated twice each; the ratio is VIP / direct (Kubernetes' iptables
 *   mode measured 96%, its old userspace proxy 36%).
 * - The same through the userspace proxy (this process runs it on a virtual IP of its own to the same pod).
 * - Rule sync: with 1,000 Services x 3 endpoints in place, the time to apply a change of one endpoint (target 200 ms).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from '../lib/kube/client.ts';
import type { KubeObject } from '../lib/kube/object.ts';
import { Pods } from '../lib/kube/resources.ts';
import { startSkiff } from '../test/harness/skiff.ts';
import { kubectlOk } from '../test/harness/kubectl.ts';
import { eventually } from '../test/harness/eventually.ts';
import { IptablesProxier } from '../node-agent/proxy/iptables.ts';
import { UserspaceProxier } from '../node-agent/proxy/userspace.ts';
import { shortHash, type ServicePort } from '../node-agent/proxy/model.ts';
import { printTable } from './client.ts';

const exec = promisify(execFile);
const SECONDS = Number(process.env.SKIFF_BENCH_SECONDS ?? 10);

async function wrk(url: string): Promise<number> {
  const { stdout } = await exec('wrk', ['-t2', '-c32', `-d${SECONDS}s`, url], { maxBuffer: 1 << 22 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(stdout);
  if (!rps) throw new Error(`wrk printed no rate:\n${stdout}`);
  if (errors) console.log(`  wrk ${url}: ${errors[0]}`);
  return rps;
}

function fakePort(i: number, endpointSeed = 0): ServicePort {
  const key = `bench/svc-${i}:http/TCP`;
  const endpoints = [0, 1, 2].map((j) => ({
    ip: `10.250.${Math.floor(i / 200)}.${(i % 200) + 1 + j * 0}`,
    port: 8080 + j + endpointSeed * 10,
    local: true,
  }));
  const sp = {
    key,
    namespace: 'bench',
    service: `svc-${i}`,
    portName: 'http',
    protocol: 'TCP' as const,
    clusterIPs: [`10.97.${Math.floor(i / 250)}.${(i % 250) + 1}`],
    port: 80,
    externalIPs: [],
    externalLocal: false,
    endpoints,
  };
  return { ...sp, signature: JSON.stringify(sp), id: shortHash(key) };
}

async function ruleSync(): Promise<{ initialMs: number; changeMs: number }> {
  const p = new IptablesProxier({ prefix: `SKB${Math.random().toString(36).slice(2, 6).toUpperCase()}` });
  try {
    const ports = Array.from({ length: 1000 }, (_, i) => fakePort(i));
    let t0 = performance.now();
    await p.sync(ports);
    const initialMs = performance.now() - t0;
    const times: number[] = [];
    for (let k = 1; k <= 5; k++) {
      const i = k * 97;
      ports[i] = fakePort(i, k);
      t0 = performance.now();
      const rewritten = await p.sync(ports);
      times.push(performance.now() - t0);
      if (rewritten !== 1) throw new Error(`a change of one service rewrote ${rewritten}`);
    }
    times.sort((a, b) => a - b);
    return { initialMs, changeMs: times[2] };
  } finally {
    await p.cleanup();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const suffix = Math.random().toString(36).slice(2, 7);
  const s = await startSkiff({
    agent: true,
    args: [
      '--node-name',
      `proxy-bench-${suffix}`,
      '--bridge',
      `skp${suffix}`,
      '--cluster-cidr',
      '10.198.0.0/16',
      '--cluster-dns',
      `169.254.24.${1 + Math.floor(Math.random() * 250)}`,
    ],
  });
  const userspace = new UserspaceProxier();
  try {
    const c = await Client.fromKubeconfig(s.kubeconfig);
    kubectlOk(s.kubeconfig, [
      'create',
      'deployment',
      'web',
      '--image=skiff.local/busybox:1.35',
      '--',
      'sh',
      '-c',
      'echo ok > /tmp/i; exec httpd -f -p 8080 -h /tmp',
    ]);
    kubectlOk(s.kubeconfig, ['expose', 'deployment', 'web', '--port=80', '--target-port=8080']);
    const pod = await eventually(
      'the web pod runs',
      async () =>
        (await c.list<KubeObject>(Pods, { namespace: 'default', labelSelector: 'app=web' })).items.find(
          (p) => p.status?.containerStatuses?.[0]?.state?.running && p.status.podIP,
        ),
      60_000,
      200,
    );
    const vip = kubectlOk(s.kubeconfig, ['get', 'svc', 'web', '-o', 'jsonpath={.spec.clusterIP}']);
    await eventually('the VIP answers', async () => (await fetch(`http://${vip}/i`)).ok, 10_000, 100);
    const direct: number[] = [];
    const viaVip: number[] = [];
    for (let i = 0; i < 2; i++) {
      direct.push(await wrk(`http://${pod.status.podIP}:8080/i`));
      viaVip.push(await wrk(`http://${vip}/i`));
    }
    const uvip = `127.66.${Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
    await userspace.sync([
      {
        key: 'bench/web:/TCP',
        namespace: 'bench',
        service: 'web',
        portName: '',
        protocol: 'TCP',
        clusterIPs: [uvip],
        port: 80,
        externalIPs: [],
        externalLocal: false,
        endpoints: [{ ip: pod.status.podIP, port: 8080, local: true }],
        signature: 'x',
        id: 'X',
      },
    ]);
    const user = await wrk(`http://${uvip}/i`);
    c.close();
    const sync = await ruleSync();
    const d = (direct[0] + direct[1]) / 2;
    const v = (viaVip[0] + viaVip[1]) / 2;
    printTable(`service proxy (wrk -t2 -c32, ${SECONDS} s per run, busybox httpd pod)`, [
      ['path', 'requests/s', 'ratio to direct', 'reference'],
      ['pod IP (direct)', d.toFixed(0), '1.00', ''],
      ['Service VIP, iptables', v.toFixed(0), (v / d).toFixed(3), '>= 0.95 (Kubernetes iptables mode: 0.96)'],
      ['Service VIP, userspace', user.toFixed(0), (user / d).toFixed(3), 'Kubernetes userspace proxy: 0.36'],
      ['rule sync, 1,000 services x 3 endpoints: one change', `${sync.changeMs.toFixed(0)} ms`, '', 'target <= 200 ms'],
      ['rule sync, 1,000 services x 3 endpoints: first full sync', `${sync.initialMs.toFixed(0)} ms`, '', ''],
    ]);
    return {
      direct_rps: Math.round(d),
      vip_rps: Math.round(v),
      ratio: Number((v / d).toFixed(3)),
      userspace_ratio: Number((user / d).toFixed(3)),
      sync_1000_services_ms: Math.round(sync.changeMs),
      full_sync_1000_services_ms: Math.round(sync.initialMs),
    };
  } finally {
    await userspace.cleanup();
    await s.stop();
    s.cleanup();
  }
}
