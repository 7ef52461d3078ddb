/**
 * The Service environment variables of a namespace (enableServiceLinks), as Docker links named them and the kubelet
 * still sets: FOO_SERVICE_HOST, FOO_SERVICE_PORT, FOO_PORT=tcp://ip:port, FOO_PORT_80_TCP_ADDR and the rest. The
 * `kubernetes` Service of the default namespace is in every namespace's set.
 */
import type { Informer } from '../../lib/kube/informer.ts';
import type { Service } from '../objects.ts';

function envName(s: string): string {
  return s.toUpperCase().replace(/-/g, '_');
}

export function serviceVars(svc: Service, out: Map<string, string>): void {
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === 'None') return;
  const ports = svc.spec?.ports ?? [];
  if (!ports.length) return;
  const name = envName(svc.metadata.name!);
  out.set(`${name}_SERVICE_HOST`, ip);
  out.set(`${name}_SERVICE_PORT`, String(ports[0].port));
  for (const p of ports) if (p.name) out.set(`${name}_SERVICE_PORT_${envName(p.name)}`, String(p.port));
  const first = ports[0];
  out.set(`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${ip}:${first.port}`);
  for (const p of ports) {
    const proto = (p.protocol ?? 'TCP').toUpperCase();
    const prefix = `${name}_PORT_${p.port}_${proto}`;
    out.set(prefix, `${proto.toLowerCase()}://${ip}:${p.port}`);
    out.set(`${prefix}_PROTO`, proto.toLowerCase());
    out.set(`${prefix}_PORT`, String(p.port));
    out.set(`${prefix}_ADDR`, ip);
  }
}

export function serviceEnvironment(services: Informer<Service>, namespace: string): Map<string, string> {
  const out = new Map<string, string>();
  const own = services.listNamespace(namespace);
  const k8s = services.getByName('default', 'kubernetes');
  if (k8s && namespace !== 'default') serviceVars(k8s, out);
  for (const s of own) serviceVars(s, out);
  return out;
}
