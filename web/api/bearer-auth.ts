/**
 * WEB_TOKEN for the routes that change something (creating, cancelling): `Authorization: Bearer
 * <token>`, compared in constant time (SHA-256 digests of both, as the worker token is). Without a
 * token configured every caller may (tessera web then listens on loopback only: web-config.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type AuthVerdict = { readonly ok: true } | { readonly ok: false; readonly message: string };

const BEARER = /^Bearer +([^\s]+) *$/i;

const digest = (token: string): Buffer => createHash('sha256').update(token, 'utf8').digest();

/** A checker for the Authorization header; `token` undefined lets everyone through. */
export function bearerCheck(token: string | undefined): (authorization: string | undefined) => AuthVerdict {
  if (token === undefined) return () => ({ ok: true });
  const expected = digest(token);
  return (authorization) => {
    if (authorization === undefined) return { ok: false, message: 'this needs the web token: send Authorization: Bearer <WEB_TOKEN>' };
    const presented = BEARER.exec(authorization)?.[1];
    if (presented === undefined) return { ok: false, message: 'the Authorization header is not "Bearer <token>"' };
    return timingSafeEqual(digest(presented), expected) ? { ok: true } : { ok: false, message: 'wrong web token' };
  };
}
