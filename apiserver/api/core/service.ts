/**
 * Services: defaults (type, sessionAffinity, port protocol/targetPort, traffic policies, IP families), validation
 * (ports, clusterIP/clusterIPs, types, selectors, session affinity, external IPs, node port range) and the update
 * rules (a set ClusterIP may not change). ClusterIPs and NodePorts are allocated elsewhere, after validation, so an
 * update that leaves them empty keeps the old values.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { duplicate, forbidden, goQuote, GoValue, invalid, notSupported, required } from '../validation/errors.ts';
import { validateLabels } from '../validation/meta.ts';
import { isQualifiedName, nameIsDns1035Label } from '../validation/names.ts';
import {
  IP_MSG,
  isValidIp,
  validateNonSpecialIp,
  validatePortNum,
  validatePortNumOrName,
} from '../validation/network.ts';
import { validateDns1123Label, validateDns1123Subdomain } from './pod-validation.ts';

export const NODE_PORT_RANGE: readonly [number, number] = [30000, 32767];
const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const AFFINITIES = ['ClientIP', 'None'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const FAMILIES = ['IPv4', 'IPv6'];
const FAMILY_POLICIES = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
const TRAFFIC_POLICIES = ['Cluster', 'Local'];
const MAX_CLIENT_IP_TIMEOUT = 86400;

function isHeadless(svc: any): boolean {
  return svc?.spec?.clusterIP === 'None';
}

export function defaultService(svc: any): void {
  const spec = (svc.spec ??= {});
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of list(spec.ports)) {
    if (!isObj(p)) continue;
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '')
      p.targetPort = p.port;
  }
  if ((spec.type === 'NodePort' || spec.type === 'LoadBalancer') && !spec.externalTrafficPolicy)
    spec.externalTrafficPolicy = 'Cluster';
  if (spec.internalTrafficPolicy === undefined && spec.type !== 'ExternalName') spec.internalTrafficPolicy = 'Cluster';
  if (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined)
    spec.allocateLoadBalancerNodePorts = true;
  if (spec.sessionAffinity === 'ClientIP' && spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  // the singular clusterIP seeds the plural list, as for clients that only know the singular field
  if (spec.clusterIP && (!Array.isArray(spec.clusterIPs) || spec.clusterIPs.length === 0))
    spec.clusterIPs = [spec.clusterIP];
  if (spec.type !== 'ExternalName') {
    if (spec.ipFamilyPolicy === undefined) {
      const selectorless = !spec.selector || Object.keys(spec.selector).length === 0;
      spec.ipFamilyPolicy = isHeadless(svc) && selectorless ? 'RequireDualStack' : 'SingleStack';
    }
    if (!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) {
      const first = list(spec.clusterIPs).find((ip) => ip && ip !== 'None');
      spec.ipFamilies = [first && String(first).includes(':') ? 'IPv6' : 'IPv4'];
    }
  }
  if (svc.status === undefined) svc.status = { loadBalancer: {} };
}

function renderServicePortKey(p: any): GoValue {
  return new GoValue(
    `core.ServicePort{Name:"", Protocol:${goQuote(String(p.protocol ?? ''))}, AppProtocol:(*string)(nil), Port:${Number(p.port ?? 0)}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

function validatePort(p: any, requireName: boolean, names: Set<string>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (requireName && !p.name) errs.push(required(`${path}.name`));
  else if (p.name) {
    errs.push(...validateDns1123Label(`${path}.name`, String(p.name)));
    if (names.has(p.name)) errs.push(duplicate(`${path}.name`, p.name));
    else names.add(p.name);
  }
  errs.push(...validatePortNum(`${path}.port`, p.port));
  if (!p.protocol) errs.push(required(`${path}.protocol`));
  else if (!PROTOCOLS.includes(p.protocol)) errs.push(notSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
  errs.push(...validatePortNumOrName(`${path}.targetPort`, p.targetPort));
  if (p.appProtocol !== undefined && p.appProtocol !== null) {
    for (const m of isQualifiedName(String(p.appProtocol))) errs.push(invalid(`${path}.appProtocol`, p.appProtocol, m));
  }
  if (p.nodePort !== undefined && p.nodePort !== null && p.nodePort !== 0) {
    const [lo, hi] = NODE_PORT_RANGE;
    if (typeof p.nodePort !== 'number' || p.nodePort < lo || p.nodePort > hi) {
      errs.push(
        invalid(
          `${path}.nodePort`,
          p.nodePort,
          `provided port is not in the valid range. The range of valid ports is ${lo}-${hi}`,
        ),
      );
    }
  }
  return errs;
}

function validateClusterIps(svc: any): FieldError[] {
  const spec = svc.spec ?? {};
  if (spec.type === 'ExternalName') return [];
  const errs: FieldError[] = [];
  const ips: string[] = list(spec.clusterIPs).map(String);
  if (spec.clusterIP) {
    if (ips.length === 0) errs.push(required('spec.clusterIPs'));
    else if (ips[0] !== spec.clusterIP)
      errs.push(invalid('spec.clusterIPs', ips, 'first value must match `clusterIP`'));
  } else if (ips.length > 0) {
    errs.push(invalid('spec.clusterIPs', ips, 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  list(spec.ipFamilies).forEach((f, i) => {
    if (!FAMILIES.includes(f)) errs.push(notSupported(`spec.ipFamilies[${i}]`, f, FAMILIES));
    if (seen.has(f)) errs.push(duplicate(`spec.ipFamilies[${i}]`, f));
    seen.add(f);
  });
  if (
    spec.ipFamilyPolicy !== undefined &&
    spec.ipFamilyPolicy !== null &&
    !FAMILY_POLICIES.includes(spec.ipFamilyPolicy)
  ) {
    errs.push(notSupported('spec.ipFamilyPolicy', spec.ipFamilyPolicy, FAMILY_POLICIES));
  }
  let badIps = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        badIps = true;
        errs.push(invalid('spec.clusterIPs', ips, "'None' must be the first and only value"));
      }
      return;
    }
    if (!isValidIp(ip)) {
      badIps = true;
      errs.push(invalid(`spec.clusterIPs[${i}]`, ip, IP_MSG));
    }
  });
  if (spec.ipFamilyPolicy === 'SingleStack') {
    if (ips.length > 1)
      errs.push(invalid('spec.clusterIPs', ips, "must have at most one value when `ipFamilyPolicy` is 'SingleStack'"));
    if (list(spec.ipFamilies).length > 1)
      errs.push(
        invalid(
          'spec.ipFamilies',
          list(spec.ipFamilies).map(String),
          "must have at most one value when `ipFamilyPolicy` is 'SingleStack'",
        ),
      );
  }
  if (!badIps && ips.length > 1) {
    if (ips.length > 2) errs.push(invalid('spec.clusterIPs', ips, 'may only hold up to 2 values'));
    const fams = ips.slice(0, 2).map((ip) => (ip.includes(':') ? 'IPv6' : 'IPv4'));
    if (fams[0] === fams[1])
      errs.push(invalid('spec.clusterIPs', ips, 'may specify no more than one IP for each IP family'));
  }
  return errs;
}

export function validateServiceSpec(svc: any): FieldError[] {
  const spec = isObj(svc?.spec) ? svc.spec : {};
  const errs: FieldError[] = [];
  const ports = list(spec.ports);
  if (ports.length === 0 && !isHeadless(svc) && spec.type !== 'ExternalName') errs.push(required('spec.ports'));
  if (spec.type === 'ExternalName') {
    if (list(spec.clusterIPs).length > 0)
      errs.push(forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (spec.ipFamilies && list(spec.ipFamilies).length > 0)
      errs.push(forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy) errs.push(forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = String(spec.externalName ?? '').replace(/\.$/, '');
    if (cname) errs.push(...validateDns1123Subdomain('spec.externalName', cname));
    else errs.push(required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => errs.push(...validatePort(p ?? {}, ports.length > 1, names, `spec.ports[${i}]`)));
  if (spec.selector !== undefined && spec.selector !== null)
    errs.push(...validateLabels(spec.selector, 'spec.selector'));
  if (!spec.sessionAffinity) errs.push(required('spec.sessionAffinity'));
  else if (!AFFINITIES.includes(spec.sessionAffinity))
    errs.push(notSupported('spec.sessionAffinity', spec.sessionAffinity, AFFINITIES));
  if (spec.sessionAffinity === 'ClientIP') {
    const t = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (t === undefined || t === null) errs.push(required('spec.sessionAffinityConfig.clientIP.timeoutSeconds'));
    else if (typeof t !== 'number' || t <= 0 || t > MAX_CLIENT_IP_TIMEOUT) {
      errs.push(
        invalid(
          'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
          t,
          `must be greater than 0 and less than ${MAX_CLIENT_IP_TIMEOUT}`,
        ),
      );
    }
  } else if (spec.sessionAffinity === 'None' && spec.sessionAffinityConfig) {
    errs.push(forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  errs.push(...validateClusterIps(svc));
  list(spec.externalIPs).forEach((ip, i) => {
    const p = `spec.externalIPs[${i}]`;
    if (!isValidIp(String(ip))) errs.push(invalid(p, ip, IP_MSG));
    else errs.push(...validateNonSpecialIp(p, String(ip)));
  });
  if (!spec.type) errs.push(required('spec.type'));
  else if (!TYPES.includes(spec.type)) errs.push(notSupported('spec.type', spec.type, TYPES));
  if (spec.type === 'ClusterIP' || spec.type === 'ExternalName') {
    ports.forEach((p, i) => {
      if (p?.nodePort)
        errs.push(forbidden(`spec.ports[${i}].nodePort`, `may not be used when \`type\` is '${spec.type}'`));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    if (!p?.nodePort) return;
    const key = `${p.protocol}/${p.nodePort}`;
    if (nodePorts.has(key)) errs.push(duplicate(`spec.ports[${i}].nodePort`, p.nodePort));
    nodePorts.add(key);
  });
  const portKeys = new Set<string>();
  ports.forEach((p, i) => {
    const key = `${p?.protocol}/${p?.port}`;
    if (portKeys.has(key)) errs.push(duplicate(`spec.ports[${i}]`, renderServicePortKey(p ?? {})));
    portKeys.add(key);
  });
  if (spec.externalTrafficPolicy !== undefined && spec.externalTrafficPolicy !== '') {
    if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer') {
      errs.push(
        invalid(
          'spec.externalTrafficPolicy',
          spec.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        ),
      );
    } else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy)) {
      errs.push(notSupported('spec.externalTrafficPolicy', spec.externalTrafficPolicy, TRAFFIC_POLICIES));
    }
  } else if (spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    errs.push(required('spec.externalTrafficPolicy'));
  }
  if (spec.internalTrafficPolicy !== undefined && spec.internalTrafficPolicy !== null) {
    if (!TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy))
      errs.push(notSupported('spec.internalTrafficPolicy', spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  } else if (spec.type !== 'ExternalName') {
    errs.push(required('spec.internalTrafficPolicy'));
  }
  if (spec.healthCheckNodePort && !(spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local')) {
    errs.push(
      invalid(
        'spec.healthCheckNodePort',
        spec.healthCheckNodePort,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    );
  }
  return errs;
}

/** an update that leaves clusterIP/clusterIPs or nodePorts empty keeps the allocated values (filled in later) */
function withAllocatedValues(svc: any, old: any): any {
  const spec = svc.spec ?? {};
  const oldSpec = old.spec ?? {};
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName' || !oldSpec.clusterIP) return svc;
  const patched = { ...svc, spec: { ...spec } };
  // a new clusterIP with the old clusterIPs: the client meant both (Kubernetes' normalizeClusterIPs), and the change
  // is refused as one of clusterIPs
  const oldIps = list(oldSpec.clusterIPs);
  const ips = list(spec.clusterIPs);
  if (
    spec.clusterIP &&
    spec.clusterIP !== oldSpec.clusterIP &&
    ips.length === oldIps.length &&
    ips.every((ip, i) => ip === oldIps[i])
  ) {
    patched.spec.clusterIPs = [spec.clusterIP];
  }
  if (!spec.clusterIP) patched.spec.clusterIP = oldSpec.clusterIP;
  if (list(spec.clusterIPs).length === 0 && patched.spec.clusterIP === oldSpec.clusterIP)
    patched.spec.clusterIPs = oldSpec.clusterIPs ?? [oldSpec.clusterIP];
  return patched;
}

export function validateServiceUpdate(svc: any, old: any): FieldError[] {
  const spec = svc.spec ?? {};
  const oldSpec = old.spec ?? {};
  if (spec.type === 'ExternalName' || oldSpec.type === 'ExternalName') return [];
  const oldIps = list(oldSpec.clusterIPs);
  if (oldIps.length === 0) return [];
  const ips = list(withAllocatedValues(svc, old).spec.clusterIPs);
  if (ips.length === 0 || ips[0] !== oldIps[0]) {
    return [invalid('spec.clusterIPs[0]', ips.map(String), 'may not change once set')];
  }
  const errs: FieldError[] = [];
  const fams = list(spec.ipFamilies);
  const oldFams = list(oldSpec.ipFamilies);
  if (fams.length > 0 && oldFams.length > 0 && fams[0] !== oldFams[0])
    errs.push(invalid('spec.ipFamilies[0]', fams[0], 'may not change once set'));
  return errs;
}

const base = makeStrategy({
  namespaced: true,
  nameCheck: nameIsDns1035Label,
  defaults: defaultService,
  validate: validateServiceSpec,
  validateStatusUpdate: (svc) => {
    const errs: FieldError[] = [];
    list(svc.status?.loadBalancer?.ingress).forEach((ing, i) => {
      if (ing?.ip && !isValidIp(String(ing.ip)))
        errs.push(invalid(`status.loadBalancer.ingress[${i}].ip`, ing.ip, IP_MSG));
      if (ing?.hostname)
        errs.push(...validateDns1123Subdomain(`status.loadBalancer.ingress[${i}].hostname`, String(ing.hostname)));
    });
    return errs;
  },
  fields: (svc) => ({
    'spec.clusterIP': String(svc?.spec?.clusterIP ?? ''),
    'spec.type': String(svc?.spec?.type ?? ''),
  }),
});

export const serviceStrategy = {
  ...base,
  validateUpdate(svc: any, old: any): FieldError[] {
    // validate the object as it will be stored, with the allocated values an update may omit
    return base.validateUpdate(withAllocatedValues(svc, old), old).concat(validateServiceUpdate(svc, old));
  },
};
