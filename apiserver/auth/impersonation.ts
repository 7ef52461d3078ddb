/**
 * Impersonation (kubectl --as, --as-group, --as-uid): the Impersonate-User, Impersonate-Group, Impersonate-Uid and
 * Impersonate-Extra-<key> headers make the request act as that user. skiff authorizes every authenticated request,
 * so whoever may call the API may impersonate; the impersonated user is who the request is from (a
 * SelfSubjectReview answers with it, as Kubernetes does).
 */
import type { IncomingMessage } from 'node:http';
import { AUTHENTICATED_GROUP, type UserInfo } from './user.ts';

/** every value of a header, in order, however many times it was sent */
export function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) out.push(raw[i + 1]);
  return out;
}

export class ImpersonationError extends Error {}

/** the user a request acts as: the impersonated one when it asks for one, else `user` */
export function impersonated(req: IncomingMessage, user: UserInfo): UserInfo {
  // nearly every request asks for none: one pass over the (lower-cased) header names tells
  let asks = false;
  for (const k in req.headers) {
    if (k.startsWith('impersonate-')) {
      asks = true;
      break;
    }
  }
  if (!asks) return user;
  if (req.headers['impersonate-user'] === undefined) {
    throw new ImpersonationError(
      'requested impersonation of groups, uid or extra without a user: set Impersonate-User as well',
    );
  }
  const name = headerValues(req, 'impersonate-user')[0] ?? '';
  const groups = headerValues(req, 'impersonate-group');
  const extra: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i].toLowerCase();
    if (!k.startsWith('impersonate-extra-')) continue;
    const key = decodeURIComponent(k.slice('impersonate-extra-'.length));
    (extra[key] ??= []).push(req.rawHeaders[i + 1]);
  }
  // as Kubernetes: a service account's groups come with it, and every impersonated user but anonymous is authenticated
  const sa = /^system:serviceaccount:([^:]+):[^:]+$/.exec(name);
  if (sa) groups.push('system:serviceaccounts', `system:serviceaccounts:${sa[1]}`);
  if (name !== 'system:anonymous' && !groups.includes(AUTHENTICATED_GROUP)) groups.push(AUTHENTICATED_GROUP);
  const out: UserInfo = { name, groups };
  const uid = headerValues(req, 'impersonate-uid')[0];
  if (uid) out.uid = uid;
  if (Object.keys(extra).length > 0) out.extra = extra;
  return out;
}
