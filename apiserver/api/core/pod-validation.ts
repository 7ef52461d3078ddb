/**
 * Validation of pod specs (containers, volumes, mounts, env, ports, probes, resources, tolerations, ...) and of pod
 * templates, shared by Pods and the workload types. Paths and messages follow Kubernetes' ValidatePodSpec.
 */
import type { FieldError } from '../field-error.ts';
import {
  duplicate,
  forbidden,
  goQuote,
  GoValue,
  inclusiveRangeError,
  invalid,
  nonNegative,
  notFound,
  notSupported,
  required,
} from '../validation/errors.ts';
import { validateAnnotations, validateLabelName, validateLabels } from '../validation/meta.ts';
import {
  isConfigMapKey,
  isDns1123Label,
  isDns1123Subdomain,
  isHttpHeaderName,
  isQualifiedName,
  isRelaxedEnvVarName,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
} from '../validation/names.ts';
import { validateIp, validatePortNumOrName } from '../validation/network.ts';
import {
  compareQuantities,
  formatQuantity,
  isInteger,
  QUANTITY_REGEX_MSG,
  tryParseQuantity,
  type Quantity,
} from '../../../lib/kube/quantity.ts';
import { VOLUME_SOURCE_NAMES } from './pod-defaults.ts';

const MAX_INT32 = 2147483647;
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
const ENV_FIELD_PATHS = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
const VOLUME_FIELD_PATHS = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
];
const CONTAINER_RESOURCE_FIELDS = [
  'limits.cpu',
  'limits.ephemeral-storage',
  'limits.memory',
  'requests.cpu',
  'requests.ephemeral-storage',
  'requests.memory',
];

const list = (v: unknown): any[] => (Array.isArray(v) ? v : []);
const isObj = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function validateDns1123Label(field: string, v: string): FieldError[] {
  return isDns1123Label(v).map((m) => invalid(field, v, m));
}
export function validateDns1123Subdomain(field: string, v: string): FieldError[] {
  return isDns1123Subdomain(v).map((m) => invalid(field, v, m));
}

// ---------- resources ----------

function isStandardContainerResource(name: string): boolean {
  return name === 'cpu' || name === 'memory' || name === 'ephemeral-storage' || name.startsWith('hugepages-');
}
function isNativeResource(name: string): boolean {
  return !name.includes('/') || name.includes('kubernetes.io/');
}
function isHugePages(name: string): boolean {
  return name.startsWith('hugepages-');
}
function isOvercommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePages(name);
}

function validateResourceName(field: string, name: string): FieldError[] {
  const errs = isQualifiedName(name).map((m) => invalid(field, name, m));
  if (!name.includes('/')) {
    if (!isStandardContainerResource(name))
      errs.push(invalid(field, name, 'must be a standard resource for containers'));
  } else if (!isNativeResource(name)) {
    if (name.startsWith('requests.')) errs.push(invalid(field, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

function parseResourceQuantity(field: string, name: string, raw: unknown, errs: FieldError[]): Quantity | undefined {
  const q = tryParseQuantity(raw);
  if (!q) {
    errs.push(invalid(field, raw ?? null, QUANTITY_REGEX_MSG));
    return undefined;
  }
  if (q.nanos < 0n) errs.push(invalid(field, formatQuantity(q), 'must be greater than or equal to 0'));
  if (!isNativeResource(name) && !isInteger(q)) errs.push(invalid(field, formatQuantity(q), 'must be an integer'));
  return q;
}

/** limits and requests: known names, valid non-negative quantities, requests <= limits */
export function validateResourceRequirements(res: any, field: string): FieldError[] {
  if (!isObj(res)) return [];
  const errs: FieldError[] = [];
  const limits = new Map<string, Quantity>();
  if (isObj(res.limits)) {
    for (const [name, raw] of Object.entries(res.limits)) {
      const p = `${field}.limits[${name}]`;
      errs.push(...validateResourceName(p, name));
      const q = parseResourceQuantity(p, name, raw, errs);
      if (q) limits.set(name, q);
    }
  }
  if (isObj(res.requests)) {
    for (const [name, raw] of Object.entries(res.requests)) {
      const p = `${field}.requests[${name}]`;
      errs.push(...validateResourceName(p, name));
      const q = parseResourceQuantity(p, name, raw, errs);
      if (!q) continue;
      const lim = limits.get(name);
      if (lim) {
        if (compareQuantities(q, lim) !== 0 && !isOvercommitAllowed(name)) {
          errs.push(
            invalid(`${field}.requests`, formatQuantity(q), `must be equal to ${name} limit of ${formatQuantity(lim)}`),
          );
        } else if (compareQuantities(q, lim) > 0) {
          errs.push(
            invalid(
              `${field}.requests`,
              formatQuantity(q),
              `must be less than or equal to ${name} limit of ${formatQuantity(lim)}`,
            ),
          );
        }
      } else if (!isOvercommitAllowed(name)) {
        errs.push(required(`${field}.limits`, 'Limit must be set for non overcommitable resources'));
      }
    }
  }
  return errs;
}

// ---------- ports, env, mounts ----------

function validateContainerPorts(ports: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list(ports).forEach((port, i) => {
    const p = `${field}[${i}]`;
    const pt = port ?? {};
    if (pt.name) {
      const msgs = isValidPortName(String(pt.name));
      if (msgs.length > 0) for (const m of msgs) errs.push(invalid(`${p}.name`, pt.name, m));
      else if (names.has(pt.name)) errs.push(duplicate(`${p}.name`, pt.name));
      else names.add(pt.name);
    }
    if (!pt.containerPort) errs.push(required(`${p}.containerPort`));
    else
      for (const m of isValidPortNum(pt.containerPort)) errs.push(invalid(`${p}.containerPort`, pt.containerPort, m));
    if (pt.hostPort) for (const m of isValidPortNum(pt.hostPort)) errs.push(invalid(`${p}.hostPort`, pt.hostPort, m));
    if (!pt.protocol) errs.push(required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(pt.protocol)) errs.push(notSupported(`${p}.protocol`, pt.protocol, PROTOCOLS));
    if (pt.hostIP !== undefined && pt.hostIP !== '') errs.push(...validateIp(`${p}.hostIP`, pt.hostIP));
  });
  return errs;
}

function validateFieldRef(ref: any, field: string, allowed: string[]): FieldError[] {
  const errs: FieldError[] = [];
  if (!ref.apiVersion) errs.push(required(`${field}.apiVersion`));
  if (!ref.fieldPath) {
    errs.push(required(`${field}.fieldPath`));
    return errs;
  }
  const fp = String(ref.fieldPath);
  const sub = /^(metadata\.(?:labels|annotations))\['([^']*)'\]$/.exec(fp);
  if (sub) {
    if (!allowed.includes(sub[1])) errs.push(notSupported(`${field}.fieldPath`, fp, allowed));
    else if (sub[1] === 'metadata.labels')
      for (const m of isQualifiedName(sub[2])) errs.push(invalid(`${field}.fieldPath`, sub[2], m));
    else for (const m of isQualifiedName(sub[2].toLowerCase())) errs.push(invalid(`${field}.fieldPath`, sub[2], m));
    return errs;
  }
  if (!allowed.includes(fp) || fp === 'metadata.labels' || fp === 'metadata.annotations') {
    // whole label/annotation maps may only be projected into volumes
    if (!(allowed === VOLUME_FIELD_PATHS && (fp === 'metadata.labels' || fp === 'metadata.annotations'))) {
      errs.push(notSupported(`${field}.fieldPath`, fp, allowed));
    }
  }
  return errs;
}

function validateResourceFieldRef(ref: any, field: string, containerNames: Set<string> | undefined): FieldError[] {
  const errs: FieldError[] = [];
  if (
    containerNames &&
    ref.containerName !== undefined &&
    ref.containerName !== '' &&
    !containerNames.has(ref.containerName)
  ) {
    errs.push(notSupported(`${field}.containerName`, ref.containerName, [...containerNames]));
  } else if (!containerNames && !ref.containerName) {
    errs.push(required(`${field}.containerName`));
  }
  if (!ref.resource) errs.push(required(`${field}.resource`));
  else if (
    !CONTAINER_RESOURCE_FIELDS.includes(ref.resource) &&
    !String(ref.resource).startsWith('limits.hugepages-') &&
    !String(ref.resource).startsWith('requests.hugepages-')
  ) {
    errs.push(notSupported(`${field}.resource`, ref.resource, CONTAINER_RESOURCE_FIELDS));
  }
  if (ref.divisor !== undefined && !tryParseQuantity(ref.divisor))
    errs.push(invalid(`${field}.divisor`, ref.divisor, QUANTITY_REGEX_MSG));
  return errs;
}

function validateKeySelector(ref: any, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!ref.name) errs.push(required(`${field}.name`));
  if (!ref.key) errs.push(required(`${field}.key`));
  else for (const m of isConfigMapKey(String(ref.key))) errs.push(invalid(`${field}.key`, ref.key, m));
  return errs;
}

export function validateEnv(env: unknown, field: string, containerNames?: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  list(env).forEach((ev, i) => {
    const p = `${field}[${i}]`;
    const e = ev ?? {};
    if (!e.name) errs.push(required(`${p}.name`));
    else for (const m of isRelaxedEnvVarName(String(e.name))) errs.push(invalid(`${p}.name`, e.name, m));
    const vf = e.valueFrom;
    if (!isObj(vf)) return;
    const vp = `${p}.valueFrom`;
    let sources = 0;
    if (vf.fieldRef) {
      sources++;
      errs.push(...validateFieldRef(vf.fieldRef, `${vp}.fieldRef`, ENV_FIELD_PATHS));
    }
    if (vf.resourceFieldRef) {
      sources++;
      errs.push(...validateResourceFieldRef(vf.resourceFieldRef, `${vp}.resourceFieldRef`, containerNames));
    }
    if (vf.configMapKeyRef) {
      sources++;
      errs.push(...validateKeySelector(vf.configMapKeyRef, `${vp}.configMapKeyRef`));
    }
    if (vf.secretKeyRef) {
      sources++;
      errs.push(...validateKeySelector(vf.secretKeyRef, `${vp}.secretKeyRef`));
    }
    if (sources === 0)
      errs.push(
        invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'),
      );
    else if (e.value) errs.push(invalid(vp, '', 'may not be specified when `value` is not empty'));
    else if (sources > 1) errs.push(invalid(vp, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateEnvFrom(envFrom: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(envFrom).forEach((ef, i) => {
    const p = `${field}[${i}]`;
    const e = ef ?? {};
    if (e.prefix) for (const m of isRelaxedEnvVarName(String(e.prefix))) errs.push(invalid(`${p}.prefix`, e.prefix, m));
    let n = 0;
    if (e.configMapRef) {
      n++;
      if (!e.configMapRef.name) errs.push(required(`${p}.configMapRef.name`));
      else errs.push(...validateDns1123Subdomain(`${p}.configMapRef.name`, e.configMapRef.name));
    }
    if (e.secretRef) {
      n++;
      if (!e.secretRef.name) errs.push(required(`${p}.secretRef.name`));
      else errs.push(...validateDns1123Subdomain(`${p}.secretRef.name`, e.secretRef.name));
    }
    if (n === 0) errs.push(invalid(p, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) errs.push(invalid(p, '', 'may not have more than one field specified at a time'));
  });
  return errs;
}

function validateLocalDescendingPath(p: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (p.startsWith('/')) errs.push(invalid(field, p, 'must be a relative path'));
  if (p.split(/[\\/]/).includes('..')) errs.push(invalid(field, p, "must not contain '..'"));
  return errs;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const points = new Set<string>();
  list(mounts).forEach((mnt, i) => {
    const p = `${field}[${i}]`;
    const m = mnt ?? {};
    if (!m.name) errs.push(required(`${p}.name`));
    if (!volumes.has(m.name)) errs.push(notFound(`${p}.name`, m.name ?? ''));
    if (!m.mountPath) errs.push(required(`${p}.mountPath`));
    if (points.has(m.mountPath)) errs.push(invalid(`${p}.mountPath`, m.mountPath, 'must be unique'));
    points.add(m.mountPath);
    if (m.subPath) errs.push(...validateLocalDescendingPath(String(m.subPath), `${field}.subPath`));
    if (m.subPathExpr) {
      if (m.subPath)
        errs.push(invalid(`${p}.subPathExpr`, m.subPathExpr, 'subPathExpr and subPath are mutually exclusive'));
      errs.push(...validateLocalDescendingPath(String(m.subPathExpr), `${p}.subPathExpr`));
    }
    if (m.mountPropagation !== undefined) {
      const modes = ['Bidirectional', 'HostToContainer', 'None'];
      if (!modes.includes(m.mountPropagation))
        errs.push(notSupported(`${p}.mountPropagation`, m.mountPropagation, modes));
    }
  });
  return errs;
}

// ---------- probes and handlers ----------

/** exactly one handler: exec, httpGet, tcpSocket, grpc or sleep */
export function validateHandler(h: any, field: string, allowGrpc: boolean): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  const kinds: [string, (x: any, p: string) => FieldError[]][] = [
    ['exec', (x, p) => (list(x.command).length === 0 ? [required(`${p}.command`)] : [])],
    [
      'httpGet',
      (x, p) => {
        const e: FieldError[] = [];
        if (!x.path) e.push(required(`${p}.path`));
        e.push(...validatePortNumOrName(`${p}.port`, x.port));
        if (!['HTTP', 'HTTPS'].includes(x.scheme))
          e.push(notSupported(`${p}.scheme`, x.scheme ?? '', ['HTTP', 'HTTPS']));
        for (const hd of list(x.httpHeaders))
          for (const m of isHttpHeaderName(String(hd?.name ?? '')))
            e.push(invalid(`${p}.httpHeaders`, hd?.name ?? '', m));
        return e;
      },
    ],
    ['tcpSocket', (x, p) => validatePortNumOrName(`${p}.port`, x.port)],
    ['grpc', (x, p) => isValidPortNum(x.port).map((m) => invalid(`${p}.port`, x.port ?? 0, m))],
    [
      'sleep',
      (x, p) =>
        typeof x.seconds === 'number' && x.seconds >= 0
          ? []
          : [invalid(`${p}.seconds`, x.seconds ?? 0, 'must be non-negative')],
    ],
  ];
  for (const [k, check] of kinds) {
    if (!isObj(h?.[k])) continue;
    if (k === 'grpc' && !allowGrpc) continue;
    if (n > 0) errs.push(forbidden(`${field}.${k}`, 'may not specify more than 1 handler type'));
    else {
      n++;
      errs.push(...check(h[k], `${field}.${k}`));
    }
  }
  if (n === 0) errs.push(required(field, 'must specify a handler type'));
  return errs;
}

function validateProbe(probe: any, field: string, mustBeOne: boolean): FieldError[] {
  if (!isObj(probe)) return [];
  const errs = validateHandler(probe, field, true);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    errs.push(...nonNegative(`${field}.${k}`, probe[k]));
  }
  if (typeof probe.terminationGracePeriodSeconds === 'number' && probe.terminationGracePeriodSeconds <= 0) {
    errs.push(
      invalid(`${field}.terminationGracePeriodSeconds`, probe.terminationGracePeriodSeconds, 'must be greater than 0'),
    );
  }
  if (mustBeOne && probe.successThreshold !== 1)
    errs.push(invalid(`${field}.successThreshold`, probe.successThreshold ?? 0, 'must be 1'));
  return errs;
}

function validateLifecycle(lc: any, field: string): FieldError[] {
  if (!isObj(lc)) return [];
  const errs: FieldError[] = [];
  if (lc.postStart) errs.push(...validateHandler(lc.postStart, `${field}.postStart`, false));
  if (lc.preStop) errs.push(...validateHandler(lc.preStop, `${field}.preStop`, false));
  return errs;
}

// ---------- containers ----------

function validateContainerCommon(c: any, volumes: Set<string>, p: string, containerNames: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(required(`${p}.name`));
  else errs.push(...validateDns1123Label(`${p}.name`, String(c.name)));
  if (!c.image) errs.push(required(`${p}.image`));
  else if (typeof c.image === 'string' && c.image !== c.image.trim())
    errs.push(invalid(`${p}.image`, c.image, 'must not have leading or trailing whitespace'));
  const tmp = c.terminationMessagePolicy;
  if (!tmp) errs.push(required(`${p}.terminationMessagePolicy`));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError')
    errs.push(notSupported(`${p}.terminationMessagePolicy`, tmp, ['File', 'FallbackToLogsOnError']));
  errs.push(...validateContainerPorts(c.ports, `${p}.ports`));
  errs.push(...validateEnv(c.env, `${p}.env`, containerNames));
  errs.push(...validateEnvFrom(c.envFrom, `${p}.envFrom`));
  errs.push(...validateVolumeMounts(c.volumeMounts, volumes, `${p}.volumeMounts`));
  if (!c.imagePullPolicy) errs.push(required(`${p}.imagePullPolicy`));
  else if (!PULL_POLICIES.includes(c.imagePullPolicy))
    errs.push(notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  errs.push(...validateResourceRequirements(c.resources, `${p}.resources`));
  return errs;
}

function validateContainers(
  containers: unknown,
  initContainers: unknown,
  volumes: Set<string>,
  field: string,
): FieldError[] {
  const ctrs = list(containers);
  if (ctrs.length === 0) return [required(field)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  const allNames = new Set<string>([...ctrs, ...list(initContainers)].map((c) => c?.name).filter(Boolean));
  ctrs.forEach((ctr, i) => {
    const p = `${field}[${i}]`;
    const c = ctr ?? {};
    errs.push(...validateContainerCommon(c, volumes, p, allNames));
    if (names.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    errs.push(...validateLifecycle(c.lifecycle, `${p}.lifecycle`));
    errs.push(...validateProbe(c.livenessProbe, `${p}.livenessProbe`, true));
    errs.push(...validateProbe(c.readinessProbe, `${p}.readinessProbe`, false));
    errs.push(...validateProbe(c.startupProbe, `${p}.startupProbe`, true));
    if (c.restartPolicy !== undefined && c.restartPolicy !== null)
      errs.push(forbidden(`${p}.restartPolicy`, 'may not be set for non-init containers'));
  });
  return errs;
}

function validateInitContainers(
  initContainers: unknown,
  containers: unknown,
  volumes: Set<string>,
  field: string,
): FieldError[] {
  const errs: FieldError[] = [];
  const regular = new Set(list(containers).map((c) => c?.name));
  const names = new Set<string>();
  const allNames = new Set<string>([...list(containers), ...list(initContainers)].map((c) => c?.name).filter(Boolean));
  list(initContainers).forEach((ctr, i) => {
    const p = `${field}[${i}]`;
    const c = ctr ?? {};
    errs.push(...validateContainerCommon(c, volumes, p, allNames));
    if (names.has(c.name) || regular.has(c.name)) errs.push(duplicate(`${p}.name`, c.name));
    else names.add(c.name);
    const sidecar = c.restartPolicy === 'Always';
    if (c.restartPolicy !== undefined && c.restartPolicy !== null && !sidecar)
      errs.push(notSupported(`${p}.restartPolicy`, c.restartPolicy, ['Always']));
    if (sidecar) {
      errs.push(...validateLifecycle(c.lifecycle, `${p}.lifecycle`));
      errs.push(...validateProbe(c.livenessProbe, `${p}.livenessProbe`, true));
      errs.push(...validateProbe(c.readinessProbe, `${p}.readinessProbe`, false));
      errs.push(...validateProbe(c.startupProbe, `${p}.startupProbe`, true));
    } else {
      if (c.lifecycle)
        errs.push(forbidden(`${p}.lifecycle`, 'may not be set for init containers without restartPolicy=Always'));
      if (c.livenessProbe)
        errs.push(forbidden(`${p}.livenessProbe`, 'may not be set for init containers without restartPolicy=Always'));
      if (c.readinessProbe)
        errs.push(forbidden(`${p}.readinessProbe`, 'may not be set for init containers without restartPolicy=Always'));
      if (c.startupProbe)
        errs.push(forbidden(`${p}.startupProbe`, 'may not be set for init containers without restartPolicy=Always'));
    }
  });
  return errs;
}

// ---------- volumes ----------

function validateKeyToPaths(items: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(items).forEach((it, i) => {
    const p = `${field}[${i}]`;
    if (!it?.key) errs.push(required(`${p}.key`));
    if (!it?.path) errs.push(required(`${p}.path`));
    else errs.push(...validateLocalNonReservedPath(String(it.path), `${p}.path`));
    if (it?.mode !== undefined && (it.mode < 0 || it.mode > 0o777))
      errs.push(invalid(`${p}.mode`, it.mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
  });
  return errs;
}

function validateLocalNonReservedPath(p: string, field: string): FieldError[] {
  const errs = validateLocalDescendingPath(p, field);
  if (p.startsWith('..')) errs.push(invalid(field, p, "must not start with '..'"));
  return errs;
}

function validateMode(mode: unknown, field: string): FieldError[] {
  if (mode === undefined || mode === null) return [];
  return typeof mode === 'number' && mode >= 0 && mode <= 0o777
    ? []
    : [invalid(field, mode, 'must be a number between 0 and 0777 (octal), both inclusive')];
}

function validateDownwardItems(items: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(items).forEach((it, i) => {
    const p = `${field}[${i}]`;
    if (!it?.path) errs.push(required(`${p}.path`));
    else errs.push(...validateLocalNonReservedPath(String(it.path), `${p}.path`));
    errs.push(...validateMode(it?.mode, `${p}.mode`));
    if (it?.fieldRef) {
      errs.push(...validateFieldRef(it.fieldRef, `${p}.fieldRef`, VOLUME_FIELD_PATHS));
      if (it.resourceFieldRef)
        errs.push(invalid(p, 'resource', 'fieldRef and resourceFieldRef can not be specified simultaneously'));
    } else if (it?.resourceFieldRef) {
      errs.push(...validateResourceFieldRef(it.resourceFieldRef, `${p}.resourceFieldRef`, undefined));
    } else {
      errs.push(required(p, 'one of fieldRef and resourceFieldRef is required'));
    }
  });
  return errs;
}

function validateVolumeSource(v: any, p: string): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  for (const s of VOLUME_SOURCE_NAMES) {
    if (v[s] === undefined || v[s] === null) continue;
    if (n > 0) {
      errs.push(forbidden(`${p}.${s}`, 'may not specify more than 1 volume type'));
      continue;
    }
    n++;
    const src = v[s] ?? {};
    const sp = `${p}.${s}`;
    switch (s) {
      case 'hostPath': {
        if (!src.path) errs.push(required(`${sp}.path`));
        const types = [
          '',
          'BlockDevice',
          'CharDevice',
          'Directory',
          'DirectoryOrCreate',
          'File',
          'FileOrCreate',
          'Socket',
        ];
        if (src.type !== undefined && !types.includes(src.type)) errs.push(notSupported(`${sp}.type`, src.type, types));
        break;
      }
      case 'emptyDir': {
        if (
          src.medium !== undefined &&
          !['', 'Memory', 'HugePages'].includes(src.medium) &&
          !String(src.medium).startsWith('HugePages-')
        ) {
          errs.push(notSupported(`${sp}.medium`, src.medium, ['', 'Memory', 'HugePages']));
        }
        if (src.sizeLimit !== undefined) {
          const q = tryParseQuantity(src.sizeLimit);
          if (!q) errs.push(invalid(`${sp}.sizeLimit`, src.sizeLimit, QUANTITY_REGEX_MSG));
          else if (q.nanos < 0n)
            errs.push(invalid(`${sp}.sizeLimit`, formatQuantity(q), 'must be greater than or equal to 0'));
        }
        break;
      }
      case 'secret':
        if (!src.secretName) errs.push(required(`${sp}.secretName`));
        else errs.push(...validateDns1123Subdomain(`${sp}.secretName`, String(src.secretName)));
        errs.push(...validateMode(src.defaultMode, `${sp}.defaultMode`));
        errs.push(...validateKeyToPaths(src.items, `${sp}.items`));
        break;
      case 'configMap':
        if (!src.name) errs.push(required(`${sp}.name`));
        else errs.push(...validateDns1123Subdomain(`${sp}.name`, String(src.name)));
        errs.push(...validateMode(src.defaultMode, `${sp}.defaultMode`));
        errs.push(...validateKeyToPaths(src.items, `${sp}.items`));
        break;
      case 'persistentVolumeClaim':
        if (!src.claimName) errs.push(required(`${sp}.claimName`));
        break;
      case 'downwardAPI':
        errs.push(...validateMode(src.defaultMode, `${sp}.defaultMode`));
        errs.push(...validateDownwardItems(src.items, `${sp}.items`));
        break;
      case 'projected': {
        errs.push(...validateMode(src.defaultMode, `${sp}.defaultMode`));
        list(src.sources).forEach((ps, i) => {
          const pp = `${sp}.sources[${i}]`;
          let k = 0;
          for (const key of ['secret', 'configMap', 'downwardAPI', 'serviceAccountToken', 'clusterTrustBundle']) {
            if (!ps?.[key]) continue;
            if (k > 0) errs.push(forbidden(`${pp}.${key}`, 'may not specify more than 1 volume type per source'));
            k++;
          }
          if (ps?.secret) errs.push(...validateKeyToPaths(ps.secret.items, `${pp}.secret.items`));
          if (ps?.configMap) errs.push(...validateKeyToPaths(ps.configMap.items, `${pp}.configMap.items`));
          if (ps?.downwardAPI) errs.push(...validateDownwardItems(ps.downwardAPI.items, `${pp}.downwardAPI.items`));
          if (ps?.serviceAccountToken) {
            const t = ps.serviceAccountToken;
            if (!t.path) errs.push(required(`${pp}.serviceAccountToken.path`));
            if (typeof t.expirationSeconds === 'number' && t.expirationSeconds < 600) {
              errs.push(
                invalid(
                  `${pp}.serviceAccountToken.expirationSeconds`,
                  t.expirationSeconds,
                  'may not specify a duration less than 10 minutes',
                ),
              );
            }
          }
        });
        break;
      }
      case 'nfs':
        if (!src.server) errs.push(required(`${sp}.server`));
        if (!src.path) errs.push(required(`${sp}.path`));
        else if (!String(src.path).startsWith('/'))
          errs.push(invalid(`${sp}.path`, src.path, 'must be an absolute path'));
        break;
      case 'csi':
        if (!src.driver) errs.push(required(`${sp}.driver`));
        break;
      default:
        break;
    }
  }
  if (n === 0) errs.push(required(p, 'must specify a volume type'));
  return errs;
}

/** spec.volumes: names valid and unique, one source each; returns the usable names for mount checks */
export function validateVolumes(volumes: unknown, field: string): { errs: FieldError[]; names: Set<string> } {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list(volumes).forEach((vol, i) => {
    const p = `${field}[${i}]`;
    const v = vol ?? {};
    const el = validateVolumeSource(v, p);
    if (!v.name) el.push(required(`${p}.name`));
    else el.push(...validateDns1123Label(`${p}.name`, String(v.name)));
    if (names.has(v.name)) el.push(duplicate(`${p}.name`, v.name));
    if (el.length === 0) names.add(v.name);
    else errs.push(...el);
  });
  return { errs, names };
}

// ---------- scheduling ----------

export function validateTaintEffect(effect: unknown, allowEmpty: boolean, field: string): FieldError[] {
  if (!effect) return allowEmpty ? [] : [required(field)];
  return TAINT_EFFECTS.includes(effect as string) ? [] : [notSupported(field, effect, TAINT_EFFECTS)];
}

function renderToleration(t: any): GoValue {
  const secs =
    t.tolerationSeconds === undefined || t.tolerationSeconds === null ? '(*int64)(nil)' : `&${t.tolerationSeconds}`;
  return new GoValue(
    `core.Toleration{Key:${goQuote(String(t.key ?? ''))}, Operator:${goQuote(String(t.operator ?? ''))}, Value:${goQuote(String(t.value ?? ''))}, Effect:${goQuote(String(t.effect ?? ''))}, TolerationSeconds:${secs}}`,
  );
}

export function validateTolerations(tolerations: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(tolerations).forEach((tol, i) => {
    const p = `${field}[${i}]`;
    const t = tol ?? {};
    if (t.key) errs.push(...validateLabelName(String(t.key), `${p}.key`));
    if (!t.key && t.operator !== 'Exists') {
      errs.push(
        invalid(
          `${p}.operator`,
          t.operator ?? '',
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && t.effect !== 'NoExecute') {
      errs.push(invalid(`${p}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    }
    switch (t.operator ?? '') {
      case 'Equal':
      case '': {
        const msgs = isValidLabelValue(String(t.value ?? ''));
        if (msgs.length > 0) errs.push(invalid(`${p}.operator`, t.value ?? '', msgs.join(';')));
        break;
      }
      case 'Exists':
        if (t.value)
          errs.push(invalid(`${p}.operator`, renderToleration(t), "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(notSupported(`${p}.operator`, t.operator, ['Equal', 'Exists']));
    }
    errs.push(...validateTaintEffect(t.effect, true, `${p}.effect`));
  });
  return errs;
}

function validateNodeSelectorTerms(terms: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(terms).forEach((term, i) => {
    list(term?.matchExpressions).forEach((req, j) => {
      const p = `${field}[${i}].matchExpressions[${j}]`;
      const vals = list(req?.values);
      switch (req?.operator) {
        case 'In':
        case 'NotIn':
          if (vals.length === 0)
            errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
          break;
        case 'Exists':
        case 'DoesNotExist':
          if (vals.length > 0)
            errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
          break;
        case 'Gt':
        case 'Lt':
          if (vals.length !== 1)
            errs.push(required(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
          break;
        default:
          errs.push(invalid(`${p}.operator`, req?.operator ?? '', 'not a valid selector operator'));
      }
      errs.push(...validateLabelName(String(req?.key ?? ''), `${p}.key`));
    });
  });
  return errs;
}

function validateAffinity(aff: any, field: string): FieldError[] {
  if (!isObj(aff)) return [];
  const errs: FieldError[] = [];
  const na = aff.nodeAffinity;
  if (isObj(na)) {
    const req = na.requiredDuringSchedulingIgnoredDuringExecution;
    if (isObj(req)) {
      const p = `${field}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
      if (list(req.nodeSelectorTerms).length === 0) errs.push(required(p, 'must have at least one node selector term'));
      errs.push(...validateNodeSelectorTerms(req.nodeSelectorTerms, p));
    }
    list(na.preferredDuringSchedulingIgnoredDuringExecution).forEach((pt, i) => {
      const p = `${field}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (typeof pt?.weight !== 'number' || pt.weight < 1 || pt.weight > 100)
        errs.push(invalid(`${p}.weight`, pt?.weight ?? 0, inclusiveRangeError(1, 100)));
    });
  }
  for (const kind of ['podAffinity', 'podAntiAffinity']) {
    const pa = aff[kind];
    if (!isObj(pa)) continue;
    list(pa.requiredDuringSchedulingIgnoredDuringExecution).forEach((term, i) => {
      const p = `${field}.${kind}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (!term?.topologyKey) errs.push(required(`${p}.topologyKey`, 'can not be empty'));
      else errs.push(...validateLabelName(String(term.topologyKey), `${p}.topologyKey`));
    });
    list(pa.preferredDuringSchedulingIgnoredDuringExecution).forEach((wt, i) => {
      const p = `${field}.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      if (typeof wt?.weight !== 'number' || wt.weight < 1 || wt.weight > 100)
        errs.push(invalid(`${p}.weight`, wt?.weight ?? 0, inclusiveRangeError(1, 100)));
      const tk = wt?.podAffinityTerm?.topologyKey;
      if (!tk) errs.push(required(`${p}.podAffinityTerm.topologyKey`, 'can not be empty'));
    });
  }
  return errs;
}

function validateHostAliases(aliases: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  list(aliases).forEach((a, i) => {
    const p = `${field}[${i}]`;
    errs.push(...validateIp(`${p}.ip`, String(a?.ip ?? '')));
    list(a?.hostnames).forEach((h) => errs.push(...validateDns1123Subdomain(`${p}.hostnames`, String(h))));
  });
  return errs;
}

function validateDnsConfig(cfg: any, dnsPolicy: string, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (dnsPolicy === 'None') {
    if (!isObj(cfg)) return [required(field, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if (list(cfg.nameservers).length === 0)
      errs.push(required(`${field}.nameservers`, 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
  }
  if (!isObj(cfg)) return errs;
  if (list(cfg.nameservers).length > 3)
    errs.push(invalid(`${field}.nameservers`, cfg.nameservers, 'must not have more than 3 nameservers'));
  list(cfg.nameservers).forEach((ns, i) => errs.push(...validateIp(`${field}.nameservers[${i}]`, String(ns))));
  if (list(cfg.searches).length > 32)
    errs.push(invalid(`${field}.searches`, cfg.searches, 'must not have more than 32 search paths'));
  list(cfg.searches).forEach((s, i) => {
    const v = String(s).replace(/\.$/, '');
    errs.push(...validateDns1123Subdomain(`${field}.searches[${i}]`, v));
  });
  list(cfg.options).forEach((o, i) => {
    if (!o?.name) errs.push(required(`${field}.options[${i}]`, 'Option.Name must not be empty'));
  });
  return errs;
}

function validateTopologySpread(constraints: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  list(constraints).forEach((c, i) => {
    const p = `${field}[${i}]`;
    if (typeof c?.maxSkew !== 'number' || c.maxSkew <= 0)
      errs.push(invalid(`${p}.maxSkew`, c?.maxSkew ?? 0, 'must be greater than zero'));
    if (!c?.topologyKey) errs.push(required(`${p}.topologyKey`, 'can not be empty'));
    else errs.push(...validateLabelName(String(c.topologyKey), `${p}.topologyKey`));
    const actions = ['DoNotSchedule', 'ScheduleAnyway'];
    if (!c?.whenUnsatisfiable) errs.push(required(`${p}.whenUnsatisfiable`));
    else if (!actions.includes(c.whenUnsatisfiable))
      errs.push(notSupported(`${p}.whenUnsatisfiable`, c.whenUnsatisfiable, actions));
    const key = `${c?.topologyKey}/${c?.whenUnsatisfiable}`;
    if (seen.has(key)) errs.push(duplicate(p, new GoValue(`{${c?.topologyKey}, ${c?.whenUnsatisfiable}}`)));
    seen.add(key);
  });
  return errs;
}

// ---------- the pod spec ----------

/** ValidatePodSpec: field is the spec's path ('spec' for pods, 'spec.template.spec' for workloads) */
export function validatePodSpec(spec: any, field: string): FieldError[] {
  const s = isObj(spec) ? spec : {};
  const errs: FieldError[] = [];
  const vols = validateVolumes(s.volumes, `${field}.volumes`);
  errs.push(...vols.errs);
  errs.push(...validateContainers(s.containers, s.initContainers, vols.names, `${field}.containers`));
  errs.push(...validateInitContainers(s.initContainers, s.containers, vols.names, `${field}.initContainers`));
  if (list(s.ephemeralContainers).length > 0) {
    list(s.ephemeralContainers).forEach((ec, i) => {
      if (!ec?.name) errs.push(required(`${field}.ephemeralContainers[${i}].name`));
      if (!ec?.image) errs.push(required(`${field}.ephemeralContainers[${i}].image`));
    });
  }
  if (s.hostNetwork === true) {
    const all = [
      ...list(s.initContainers).map((c, i) => [c, `${field}.initContainers[${i}]`] as const),
      ...list(s.containers).map((c, i) => [c, `${field}.containers[${i}]`] as const),
    ];
    for (const [c, p] of all) {
      list(c?.ports).forEach((port, j) => {
        if (port?.hostPort && port.hostPort !== port.containerPort) {
          errs.push(
            invalid(
              `${p}.ports[${j}].containerPort`,
              port.containerPort,
              'must match `hostPort` when `hostNetwork` is true',
            ),
          );
        }
      });
    }
  }
  if (!s.restartPolicy) errs.push(required(`${field}.restartPolicy`));
  else if (!RESTART_POLICIES.includes(s.restartPolicy))
    errs.push(notSupported(`${field}.restartPolicy`, s.restartPolicy, RESTART_POLICIES));
  if (!s.dnsPolicy) errs.push(required(`${field}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(s.dnsPolicy))
    errs.push(notSupported(`${field}.dnsPolicy`, s.dnsPolicy, DNS_POLICIES));
  errs.push(...validateLabels(s.nodeSelector, `${field}.nodeSelector`));
  list(s.imagePullSecrets).forEach((ips, i) => {
    if (!ips?.name) errs.push(required(`${field}.imagePullSecrets[${i}].name`));
  });
  errs.push(...validateAffinity(s.affinity, `${field}.affinity`));
  errs.push(...validateDnsConfig(s.dnsConfig, s.dnsPolicy, `${field}.dnsConfig`));
  list(s.readinessGates).forEach((g, i) =>
    errs.push(...validateLabelName(String(g?.conditionType ?? ''), `${field}.readinessGates[${i}].conditionType`)),
  );
  list(s.schedulingGates).forEach((g, i) => {
    for (const m of isQualifiedName(String(g?.name ?? '')))
      errs.push(invalid(`${field}.schedulingGates[${i}].name`, g?.name ?? '', m));
  });
  errs.push(...validateTopologySpread(s.topologySpreadConstraints, `${field}.topologySpreadConstraints`));
  if (s.serviceAccountName)
    errs.push(...validateDns1123Subdomain(`${field}.serviceAccountName`, String(s.serviceAccountName)));
  if (s.nodeName) errs.push(...validateDns1123Subdomain(`${field}.nodeName`, String(s.nodeName)));
  if (s.activeDeadlineSeconds !== undefined && s.activeDeadlineSeconds !== null) {
    const v = s.activeDeadlineSeconds;
    if (typeof v !== 'number' || v < 1 || v > MAX_INT32)
      errs.push(invalid(`${field}.activeDeadlineSeconds`, v, inclusiveRangeError(1, MAX_INT32)));
  }
  if (s.hostname) errs.push(...validateDns1123Label(`${field}.hostname`, String(s.hostname)));
  if (s.subdomain) errs.push(...validateDns1123Label(`${field}.subdomain`, String(s.subdomain)));
  errs.push(...validateTolerations(s.tolerations, `${field}.tolerations`));
  errs.push(...validateHostAliases(s.hostAliases, `${field}.hostAliases`));
  if (s.priorityClassName)
    errs.push(...validateDns1123Subdomain(`${field}.priorityClassName`, String(s.priorityClassName)));
  if (s.preemptionPolicy !== undefined && s.preemptionPolicy !== null) {
    const pp = ['Never', 'PreemptLowerPriority'];
    if (!pp.includes(s.preemptionPolicy)) errs.push(notSupported(`${field}.preemptionPolicy`, s.preemptionPolicy, pp));
  }
  if (s.os !== undefined && s.os !== null) {
    if (!s.os.name) errs.push(required(`${field}.os.name`));
    else if (!['linux', 'windows'].includes(s.os.name))
      errs.push(notSupported(`${field}.os.name`, s.os.name, ['linux', 'windows']));
  }
  if (isObj(s.overhead)) {
    for (const [name, raw] of Object.entries(s.overhead)) {
      const p = `${field}.overhead[${name}]`;
      errs.push(...validateResourceName(p, name));
      parseResourceQuantity(p, name, raw, errs);
    }
  }
  return errs;
}

/** ValidatePodTemplateSpec: template labels and annotations (paths without "metadata"), then its pod spec */
export function validatePodTemplateSpec(template: any, field: string): FieldError[] {
  if (!isObj(template)) return [required(field)];
  const md = template.metadata ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateLabels(md.labels, `${field}.labels`));
  errs.push(...validateAnnotations(md.annotations, `${field}.annotations`));
  errs.push(...validatePodSpec(template.spec, `${field}.spec`));
  if (list(template.spec?.ephemeralContainers).length > 0) {
    errs.push(forbidden(`${field}.spec.ephemeralContainers`, 'ephemeral containers not allowed in pod template'));
  }
  return errs;
}
