/**
 * Liveness, readiness and startup probes with Kubernetes' timing fields (initialDelaySeconds, periodSeconds,
 * timeoutSeconds, successThreshold, failureThreshold): exec through CRI ExecSync with a deadline, httpGet, tcpSocket.
 * One timer per probe of each running container; a change of result wakes the pod's worker.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { CriClient } from '../cri/client.ts';
import type { Container, Handler, PortRef, Probe } from '../objects.ts';
import type { ProbeView } from './status.ts';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

interface ProbeState {
  kind: ProbeKind;
  probe: Probe;
  containerId: string;
  podUid: string;
  /** last settled result */
  ok: boolean;
  successes: number;
  failures: number;
  lastMessage: string;
  timer?: NodeJS.Timeout;
  stopped: boolean;
}

export interface ProbeResult {
  ok: boolean;
  message: string;
}

function portOf(port: PortRef, container: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = (container.ports ?? []).find((x) => x.name === port);
  if (!p) throw new Error(`port "${port}" is not a named port of container "${container.name}"`);
  return p.containerPort;
}

export async function runProbe(
  cri: CriClient,
  probe: Handler,
  containerId: string,
  container: Container,
  podIP: string,
): Promise<ProbeResult> {
  const timeout = Math.max(1, probe.timeoutSeconds ?? 1);
  if (probe.exec) {
    try {
      const r = await cri.execSync(containerId, probe.exec.command ?? [], timeout);
      const out = (r.stdout.toString() + r.stderr.toString()).trim();
      return r.exit_code === 0
        ? { ok: true, message: out }
        : { ok: false, message: `command ${JSON.stringify(probe.exec.command)} exited with ${r.exit_code}: ${out}` };
    } catch (e) {
      return {
        ok: false,
        message: `command ${JSON.stringify(probe.exec.command)} timed out or failed: ${(e as Error).message}`,
      };
    }
  }
  if (probe.httpGet) {
    const g = probe.httpGet;
    const scheme = (g.scheme ?? 'HTTP').toLowerCase();
    const host = g.host || podIP;
    const port = portOf(g.port, container);
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.33', Accept: '*/*' };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}${g.path?.startsWith('/') ? g.path : '/' + (g.path ?? '')}`;
    return new Promise((resolve) => {
      const mod = scheme === 'https' ? https : http;
      const req = mod.get(url, { headers, timeout: timeout * 1000, rejectUnauthorized: false, agent: false }, (res) => {
        const code = res.statusCode ?? 0;
        res.resume();
        resolve(
          code >= 200 && code < 400
            ? { ok: true, message: '' }
            : { ok: false, message: `HTTP probe failed with statuscode: ${code}` },
        );
      });
      req.on('timeout', () => {
        req.destroy();
        resolve({
          ok: false,
          message: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
        });
      });
      req.on('error', (e) => resolve({ ok: false, message: `Get "${url}": ${e.message}` }));
    });
  }
  if (probe.tcpSocket) {
    const host = probe.tcpSocket.host || podIP;
    const port = portOf(probe.tcpSocket.port, container);
    return new Promise((resolve) => {
      const s = net.connect({ host, port, timeout: timeout * 1000 });
      s.once('connect', () => {
        s.destroy();
        resolve({ ok: true, message: '' });
      });
      s.once('timeout', () => {
        s.destroy();
        resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
      });
      s.once('error', (e) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${e.message}` }));
    });
  }
  if (probe.grpc) return { ok: false, message: 'grpc probes are not supported by this node' };
  return { ok: true, message: '' };
}

export class ProbeManager implements ProbeView {
  /** containerId -> kind -> state */
  private readonly byContainer = new Map<string, Map<ProbeKind, ProbeState>>();
  private readonly byPod = new Map<string, Set<string>>();

  constructor(
    private readonly cri: CriClient,
    /** a probe's settled result changed: the pod needs a sync */
    private readonly onChange: (podUid: string, containerId: string, kind: ProbeKind) => void,
  ) {}

  /** Starts the probes of a running container once (no-op when they already run). */
  ensure(podUid: string, container: Container, containerId: string, podIP: string, startedAtMs: number): void {
    if (this.byContainer.has(containerId)) return;
    const states = new Map<ProbeKind, ProbeState>();
    this.byContainer.set(containerId, states);
    let set = this.byPod.get(podUid);
    if (!set) this.byPod.set(podUid, (set = new Set()));
    set.add(containerId);
    const kinds: [ProbeKind, Probe | undefined][] = [
      ['startup', container.startupProbe],
      ['liveness', container.livenessProbe],
      ['readiness', container.readinessProbe],
    ];
    for (const [kind, probe] of kinds) {
      if (!probe) continue;
      // liveness starts as passing, readiness and startup as not yet passed
      const st: ProbeState = {
        kind,
        probe,
        containerId,
        podUid,
        ok: kind === 'liveness',
        successes: 0,
        failures: 0,
        lastMessage: '',
        stopped: false,
      };
      states.set(kind, st);
      const delay = Math.max(0, startedAtMs + (probe.initialDelaySeconds ?? 0) * 1000 - Date.now());
      st.timer = setTimeout(() => void this.tick(st, container, podIP), delay);
    }
  }

  private async tick(st: ProbeState, container: Container, podIP: string): Promise<void> {
    if (st.stopped) return;
    const states = this.byContainer.get(st.containerId)!;
    const startup = states.get('startup');
    // liveness and readiness wait for the startup probe to succeed
    if (st.kind !== 'startup' && startup && !startup.ok) {
      st.timer = setTimeout(() => void this.tick(st, container, podIP), 1000);
      return;
    }
    const r = await runProbe(this.cri, st.probe, st.containerId, container, podIP);
    if (st.stopped) return;
    st.lastMessage = r.message;
    const before = st.ok;
    if (r.ok) {
      st.failures = 0;
      st.successes++;
      if (st.successes >= (st.kind === 'readiness' ? (st.probe.successThreshold ?? 1) : 1)) st.ok = true;
    } else {
      st.successes = 0;
      st.failures++;
      if (st.failures >= (st.probe.failureThreshold ?? 3)) st.ok = false;
    }
    if (before !== st.ok) this.onChange(st.podUid, st.containerId, st.kind);
    if (st.kind === 'startup' && st.ok) return; // done
    st.timer = setTimeout(() => void this.tick(st, container, podIP), (st.probe.periodSeconds ?? 10) * 1000);
  }

  /** a container whose spec has a readiness probe is not ready before its first success, also before its worker runs */
  ready(containerId: string, hasProbe: boolean): boolean {
    return this.byContainer.get(containerId)?.get('readiness')?.ok ?? !hasProbe;
  }

  started(containerId: string, hasProbe: boolean): boolean {
    return this.byContainer.get(containerId)?.get('startup')?.ok ?? !hasProbe;
  }

  /** The liveness or startup probe failed its threshold: the container must be restarted; the message says why. */
  failed(containerId: string): { kind: ProbeKind; message: string } | undefined {
    const s = this.byContainer.get(containerId);
    const live = s?.get('liveness');
    if (live && !live.ok) return { kind: 'liveness', message: live.lastMessage };
    const startup = s?.get('startup');
    if (startup && !startup.ok && startup.failures >= (startup.probe.failureThreshold ?? 3))
      return { kind: 'startup', message: startup.lastMessage };
    return undefined;
  }

  lastMessage(containerId: string, kind: ProbeKind): string {
    return this.byContainer.get(containerId)?.get(kind)?.lastMessage ?? '';
  }

  removeContainer(containerId: string): void {
    const s = this.byContainer.get(containerId);
    if (!s) return;
    for (const st of s.values()) {
      st.stopped = true;
      clearTimeout(st.timer);
      this.byPod.get(st.podUid)?.delete(containerId);
    }
    this.byContainer.delete(containerId);
  }

  removePod(podUid: string): void {
    for (const id of [...(this.byPod.get(podUid) ?? [])]) this.removeContainer(id);
    this.byPod.delete(podUid);
  }

  /** Keeps only the probes of the given running containers of a pod. */
  retain(podUid: string, running: Set<string>): void {
    for (const id of [...(this.byPod.get(podUid) ?? [])]) if (!running.has(id)) this.removeContainer(id);
  }

  stop(): void {
    for (const id of [...this.byContainer.keys()]) this.removeContainer(id);
  }
}
