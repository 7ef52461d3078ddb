/** Rows of the core/v1 resources other than pods and events: nodes, services, endpoints, namespaces, config. */
import { since } from './duration.ts';
import { formatLabels } from './labels.ts';
import {
  AGE_COLUMN,
  NAME_COLUMN,
  arr,
  column,
  containerCells,
  int,
  keyCount,
  type PrintContext,
  type Printer,
} from './table.ts';

const name = (o: any): string => o?.metadata?.name ?? '';
const age = (o: any, ctx: PrintContext): string => since(o?.metadata?.creationTimestamp, ctx.now);

// ---- nodes ----

const ROLE_LABEL_PREFIX = 'node-role.kubernetes.io/';
const LEGACY_ROLE_LABEL = 'kubernetes.io/role';

/** roles from `node-role.kubernetes.io/<role>` label keys and the `kubernetes.io/role` label value, sorted */
export function nodeRoles(node: any): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries<unknown>(node?.metadata?.labels ?? {})) {
    if (k.startsWith(ROLE_LABEL_PREFIX)) {
      const role = k.slice(ROLE_LABEL_PREFIX.length);
      if (role) roles.add(role);
    } else if (k === LEGACY_ROLE_LABEL && v) {
      roles.add(String(v));
    }
  }
  return [...roles].sort();
}

function nodeAddress(node: any, type: string): string {
  return arr(node?.status?.addresses).find((a) => a?.type === type)?.address ?? '<none>';
}

export const nodePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Status', 'string', 'Readiness of the node, and whether scheduling onto it is disabled.'),
    column('Roles', 'string', 'Roles of the node, from its node-role labels.'),
    AGE_COLUMN,
    column('Version', 'string', 'Version of the node agent.'),
    column('Internal-IP', 'string', 'The first InternalIP address of the node.', { priority: 1 }),
    column('External-IP', 'string', 'The first ExternalIP address of the node.', { priority: 1 }),
    column('OS-Image', 'string', 'Operating system image of the node.', { priority: 1 }),
    column('Kernel-Version', 'string', 'Kernel version of the node.', { priority: 1 }),
    column('Container-Runtime', 'string', 'Container runtime name and version of the node.', { priority: 1 }),
  ],
  row(node, ctx) {
    // the last condition of a type wins, as when building a map of them
    let ready: any;
    for (const c of arr(node?.status?.conditions)) if (c?.type === 'Ready') ready = c;
    const status: string[] = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
    if (node?.spec?.unschedulable) status.push('SchedulingDisabled');
    const roles = nodeRoles(node).join(',');
    const info = node?.status?.nodeInfo ?? {};
    return {
      cells: [
        name(node),
        status.join(','),
        roles || '<none>',
        age(node, ctx),
        info.kubeletVersion ?? '',
        nodeAddress(node, 'InternalIP'),
        nodeAddress(node, 'ExternalIP'),
        info.osImage || '<unknown>',
        info.kernelVersion || '<unknown>',
        info.containerRuntimeVersion || '<unknown>',
      ],
    };
  },
};

// ---- services ----

/** load balancer ingress IPs (or hostnames when there is no IP), de-duplicated and sorted */
function loadBalancerAddresses(svc: any): string[] {
  const set = new Set<string>();
  for (const ing of arr(svc?.status?.loadBalancer?.ingress)) {
    if (ing?.ip) set.add(ing.ip);
    else if (ing?.hostname) set.add(ing.hostname);
  }
  return [...set].sort();
}

export function serviceExternalIP(svc: any): string {
  const externalIPs: string[] = arr(svc?.spec?.externalIPs);
  switch (svc?.spec?.type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerAddresses(svc);
      if (externalIPs.length > 0) return [...lb, ...externalIPs].join(',');
      return lb.length > 0 ? lb.join(',') : '<pending>';
    }
    case 'ExternalName':
      return svc?.spec?.externalName ?? '';
    default:
      return '<unknown>';
  }
}

/** "80/TCP,443:30443/TCP": port, node port when allocated, protocol */
export function servicePorts(ports: unknown): string {
  return arr(ports)
    .map((p) => {
      const proto = p?.protocol ?? 'TCP';
      return int(p?.nodePort) > 0 ? `${int(p?.port)}:${int(p.nodePort)}/${proto}` : `${int(p?.port)}/${proto}`;
    })
    .join(',');
}

export const servicePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'string', 'How the service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
    column('Cluster-IP', 'string', 'The primary cluster IP of the service.'),
    column('External-IP', 'string', 'Load balancer addresses and external IPs of the service.'),
    column('Port(s)', 'string', 'Ports of the service, with node ports where allocated.'),
    AGE_COLUMN,
    column('Selector', 'string', 'Labels of the pods the service routes to.', { priority: 1 }),
  ],
  row(svc, ctx) {
    const spec = svc?.spec ?? {};
    const clusterIP: string = arr(spec.clusterIPs)[0] ?? spec.clusterIP ?? '';
    return {
      cells: [
        name(svc),
        spec.type ?? '',
        clusterIP || '<none>',
        serviceExternalIP(svc),
        servicePorts(spec.ports) || '<none>',
        age(svc, ctx),
        formatLabels(spec.selector),
      ],
    };
  },
};

// ---- endpoints ----

function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** up to three "ip:port" entries, then " + N more..."; "<none>" without subsets */
export function formatEndpoints(ep: any): string {
  const subsets = arr(ep?.subsets);
  if (subsets.length === 0) return '<none>';
  const MAX = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  for (const ss of subsets) {
    const addrs = arr(ss?.addresses);
    const ports = arr(ss?.ports);
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === MAX) {
          more = true;
          break;
        }
        list.push(a?.ip ?? '');
      }
      continue;
    }
    for (const p of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === MAX) {
          more = true;
          break;
        }
        list.push(hostPort(a?.ip ?? '', int(p?.port)));
      }
    }
  }
  const text = list.join(',');
  return more ? `${text} + ${count - MAX} more...` : text;
}

export const endpointsPrinter: Printer = {
  columns: [NAME_COLUMN, column('Endpoints', 'string', 'Ready addresses with their ports.'), AGE_COLUMN],
  row: (ep, ctx) => ({ cells: [name(ep), formatEndpoints(ep), age(ep, ctx)] }),
};

// ---- namespaces, configmaps, secrets, serviceaccounts ----

export const namespacePrinter: Printer = {
  columns: [NAME_COLUMN, column('Status', 'string', 'Phase of the namespace: Active or Terminating.'), AGE_COLUMN],
  row: (ns, ctx) => ({ cells: [name(ns), ns?.status?.phase ?? '', age(ns, ctx)] }),
};

export const configMapPrinter: Printer = {
  columns: [NAME_COLUMN, column('Data', 'string', 'Number of data and binaryData entries.'), AGE_COLUMN],
  row: (cm, ctx) => ({ cells: [name(cm), keyCount(cm?.data) + keyCount(cm?.binaryData), age(cm, ctx)] }),
};

export const secretPrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Type', 'string', 'Type of the secret, e.g. Opaque or kubernetes.io/tls.'),
    column('Data', 'string', 'Number of data entries.'),
    AGE_COLUMN,
  ],
  row(s, ctx) {
    // stringData is folded into data on write; count the union in case an object still carries it
    const keys = new Set([...Object.keys(s?.data ?? {}), ...Object.keys(s?.stringData ?? {})]);
    return { cells: [name(s), s?.type ?? '', keys.size, age(s, ctx)] };
  },
};

export const serviceAccountPrinter: Printer = {
  columns: [NAME_COLUMN, column('Secrets', 'string', 'Number of secrets listed by the service account.'), AGE_COLUMN],
  row: (sa, ctx) => ({ cells: [name(sa), arr(sa?.secrets).length, age(sa, ctx)] }),
};

// ---- pod templates ----

/** Kubernetes' PodTemplate columns: no age, and every column shown without -o wide */
export const podTemplatePrinter: Printer = {
  columns: [
    NAME_COLUMN,
    column('Containers', 'string', 'Container names of the template.'),
    column('Images', 'string', 'Container images of the template.'),
    column('Pod Labels', 'string', 'Labels of the pods made from the template.'),
  ],
  row(pt) {
    const [names, images] = containerCells(pt?.template?.spec);
    return { cells: [name(pt), names, images, formatLabels(pt?.template?.metadata?.labels)] };
  },
};
