// The web console's gate, pure: the listen address, the session token (Jupyter
// style: printed once, then a cookie), and the strict same-origin rule.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { invalid } from '../errors.js';

export interface Listen { host: string; port: number }

/** `--listen 127.0.0.1:8080`, `[::1]:8080`, `localhost:8080` or a bare port (loopback). */
export function parseListen(text: string): Listen {
  const bad = (why: string) => invalid(`--listen ${JSON.stringify(text)}: ${why}`, 'qkvm web --listen 127.0.0.1:8080');
  let host = '127.0.0.1';
  let port: string;
  const m6 = /^\[([0-9a-fA-F:.]+)\]:(\d+)$/.exec(text);
  if (m6) [, host, port] = m6;
  else if (/^\d+$/.test(text)) port = text;
  else {
    const i = text.lastIndexOf(':');
    if (i <= 0) throw bad('write ADDRESS:PORT');
    host = text.slice(0, i);
    port = text.slice(i + 1);
    if (host.includes(':')) throw bad('put an IPv6 address in brackets, like [::1]:8080');
  }
  if (host === 'localhost') host = '127.0.0.1';
  if (!isIP(host)) throw bad(`${JSON.stringify(host)} is not an IP address`);
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw bad(`${JSON.stringify(port)} is not a port (0-65535)`);
  return { host, port: Number(port) };
}

/** Only these are reachable from this host alone. */
export function isLoopback(host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/** 32 random bytes, URL-safe: the session's only secret. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant time whatever the input: both sides are hashed to the same length first. */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b);
}

/** Cookies do not separate ports, so two consoles on one host each get their own name. */
export const cookieName = (port: number) => `qkvm-web-${port}`;

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

/** The token a request carries: `?token=`, `Authorization: token X`, or the session cookie. */
export function requestToken(url: URL, headers: { cookie?: string; authorization?: string }, port: number): { value?: string; from?: 'query' | 'header' | 'cookie' } {
  const q = url.searchParams.get('token');
  if (q !== null) return { value: q, from: 'query' };
  const m = /^token\s+(\S+)$/i.exec(headers.authorization ?? '');
  if (m) return { value: m[1], from: 'header' };
  const c = parseCookies(headers.cookie)[cookieName(port)];
  if (c !== undefined) return { value: c, from: 'cookie' };
  return {};
}

/**
 * The strict same-origin rule for websockets and state-changing requests: the
 * Origin must be exactly http://HOST where HOST is the Host header, and that
 * Host must be one this server answers to (which defeats DNS rebinding too).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, hosts: Set<string> | 'any'): boolean {
  if (!origin || !host) return false;
  if (hosts !== 'any' && !hosts.has(host.toLowerCase())) return false;
  return origin.toLowerCase() === `http://${host.toLowerCase()}`;
}

/** The Host header values a server on `l` (bound to `port`) answers to; 'any' for a wildcard address. */
export function servedHosts(l: Listen, port: number): Set<string> | 'any' {
  if (l.host === '0.0.0.0' || l.host === '::') return 'any';
  const h = l.host.includes(':') ? `[${l.host}]` : l.host;
  const out = new Set([`${h}:${port}`]);
  if (isLoopback(l.host)) out.add(`localhost:${port}`);
  return out;
}
