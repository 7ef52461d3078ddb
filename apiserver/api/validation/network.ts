/**
 * IP address, CIDR and port checks with Kubernetes' messages.
 */
import { isIP } from 'node:net';
import type { FieldError } from '../field-error.ts';
import { invalid } from './errors.ts';
import { isValidPortName, isValidPortNum } from './names.ts';

export const IP_MSG = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';
export const CIDR_MSG = 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)';

export function isValidIp(v: string): boolean {
  return typeof v === 'string' && isIP(v) !== 0;
}

export function ipFamily(v: string): 'IPv4' | 'IPv6' | undefined {
  const f = isIP(v);
  return f === 4 ? 'IPv4' : f === 6 ? 'IPv6' : undefined;
}

export function isValidCidr(v: string): boolean {
  if (typeof v !== 'string') return false;
  const slash = v.indexOf('/');
  if (slash < 0) return false;
  const ip = v.slice(0, slash);
  const bits = v.slice(slash + 1);
  const fam = isIP(ip);
  if (fam === 0 || !/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (fam === 4 ? 32 : 128);
}

export function validateIp(field: string, v: string): FieldError[] {
  return isValidIp(v) ? [] : [invalid(field, v, IP_MSG)];
}

export function validateCidr(field: string, v: string): FieldError[] {
  return isValidCidr(v) ? [] : [invalid(field, v, CIDR_MSG)];
}

/** addresses a Service may not use as external IPs */
export function validateNonSpecialIp(field: string, ip: string): FieldError[] {
  const fam = isIP(ip);
  if (fam === 4) {
    const o = ip.split('.').map(Number);
    if (o.every((x) => x === 0)) return [invalid(field, ip, 'may not be unspecified (0.0.0.0)')];
    if (o[0] === 127) return [invalid(field, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
    if (o[0] === 169 && o[1] === 254)
      return [invalid(field, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
    if (o[0] === 224 && o[1] === 0 && o[2] === 0)
      return [invalid(field, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  } else if (fam === 6) {
    const l = ip.toLowerCase();
    if (l === '::') return [invalid(field, ip, 'may not be unspecified (::)')];
    if (l === '::1') return [invalid(field, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
    if (/^fe[89ab]/.test(l))
      return [invalid(field, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
    if (l.startsWith('ff02:'))
      return [invalid(field, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  }
  return [];
}

/** a port given as a number or an IANA name (targetPort, probe ports) */
export function validatePortNumOrName(field: string, port: unknown): FieldError[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => invalid(field, port, m));
  if (typeof port === 'string') {
    // an all-digit string is how an int-or-string port arrives from some clients; Kubernetes parses it as a name
    return isValidPortName(port).map((m) => invalid(field, port, m));
  }
  return [invalid(field, port ?? null, 'must be an integer port number or an IANA service name')];
}

export function validatePortNum(field: string, port: unknown): FieldError[] {
  const n = typeof port === 'number' ? port : NaN;
  return isValidPortNum(n).map((m) => invalid(field, port ?? null, m));
}
