/**
 * discovery.k8s.io/v1 EndpointSlices: address type, endpoint addresses (1 to 100, matching the type), ports.
 */
import type { FieldError } from '../field-error.ts';
import { isObj, list, makeStrategy } from '../common.ts';
import { duplicate, immutable, invalid, notSupported, required, tooMany } from '../validation/errors.ts';
import { validateLabelName } from '../validation/meta.ts';
import { isDns1123Subdomain, isQualifiedName } from '../validation/names.ts';
import { ipFamily, IP_MSG, validatePortNum } from '../validation/network.ts';
import { validateDns1123Label } from '../core/pod-validation.ts';

const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

function validateSlice(s: any): FieldError[] {
  const errs: FieldError[] = [];
  const type = s?.addressType;
  if (!type) errs.push(required('addressType'));
  else if (!ADDRESS_TYPES.includes(type)) errs.push(notSupported('addressType', type, ADDRESS_TYPES));
  const eps = list(s?.endpoints);
  if (eps.length > 1000) errs.push(tooMany('endpoints', eps.length, 1000));
  eps.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addrs = list(ep?.addresses);
    if (addrs.length === 0) errs.push(required(`${p}.addresses`, 'must contain at least 1 address'));
    else if (addrs.length > 100) errs.push(tooMany(`${p}.addresses`, addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = `${p}.addresses[${j}]`;
      const v = String(a);
      if (type === 'IPv4' || type === 'IPv6') {
        if (ipFamily(v) === undefined) errs.push(invalid(ap, v, IP_MSG));
        else if (ipFamily(v) !== type) errs.push(invalid(ap, v, `must be an ${type} address`));
      } else if (type === 'FQDN') {
        for (const m of isDns1123Subdomain(v)) errs.push(invalid(ap, v, m));
      }
    });
    if (ep?.nodeName)
      for (const m of isDns1123Subdomain(String(ep.nodeName))) errs.push(invalid(`${p}.nodeName`, ep.nodeName, m));
    if (ep?.hostname) errs.push(...validateDns1123Label(`${p}.hostname`, String(ep.hostname)));
    if (isObj(ep?.deprecatedTopology))
      for (const k of Object.keys(ep.deprecatedTopology)) errs.push(...validateLabelName(k, `${p}.deprecatedTopology`));
  });
  const names = new Set<string>();
  list(s?.ports).forEach((pt, i) => {
    const p = `ports[${i}]`;
    const name = pt?.name ?? '';
    if (name) errs.push(...validateDns1123Label(`${p}.name`, String(name)));
    if (names.has(name)) errs.push(duplicate(`${p}.name`, name));
    names.add(name);
    if (pt?.port !== undefined && pt?.port !== null) errs.push(...validatePortNum(`${p}.port`, pt.port));
    if (!pt?.protocol) errs.push(required(`${p}.protocol`));
    else if (!PROTOCOLS.includes(pt.protocol)) errs.push(notSupported(`${p}.protocol`, pt.protocol, PROTOCOLS));
    if (pt?.appProtocol)
      for (const m of isQualifiedName(String(pt.appProtocol)))
        errs.push(invalid(`${p}.appProtocol`, pt.appProtocol, m));
  });
  return errs;
}

export const endpointSliceStrategy = makeStrategy({
  namespaced: true,
  defaults(s) {
    for (const pt of list(s?.ports)) {
      if (!isObj(pt)) continue;
      if (!pt.protocol) pt.protocol = 'TCP';
      if (pt.name === undefined) pt.name = '';
    }
  },
  validate: validateSlice,
  validateUpdate: (s, old) => immutable('addressType', s?.addressType ?? '', old?.addressType ?? ''),
});
