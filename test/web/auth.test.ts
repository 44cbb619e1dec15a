// The web console's gate: listen addresses, the token, the same-origin rule.
import { describe, expect, it } from 'vitest';
import { cookieName, isLoopback, newToken, originAllowed, parseCookies, parseListen, requestToken, servedHosts, tokenMatches } from '../../src/web/auth.js';
import { QkvmError } from '../../src/errors.js';

describe('parseListen', () => {
  it('reads ADDRESS:PORT, [v6]:PORT, localhost and a bare port (loopback)', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:9000')).toEqual({ host: '::1', port: 9000 });
    expect(parseListen('localhost:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('8081')).toEqual({ host: '127.0.0.1', port: 8081 });
    expect(parseListen('0.0.0.0:80')).toEqual({ host: '0.0.0.0', port: 80 });
  });

  it.each(['example.com:80', '127.0.0.1', '127.0.0.1:99999', '::1:80', '1.2.3.4:x', ':80'])('refuses %s, naming it (exit 2)', (bad) => {
    let err: unknown;
    try { parseListen(bad); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(QkvmError);
    expect((err as QkvmError).code).toBe('INVALID');
    expect((err as QkvmError).message).toContain(JSON.stringify(bad));
  });

  it('loopback is 127/8 and ::1 only', () => {
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('127.3.2.1')).toBe(true);
    expect(isLoopback('::1')).toBe(true);
    expect(isLoopback('0.0.0.0')).toBe(false);
    expect(isLoopback('::')).toBe(false);
    expect(isLoopback('192.0.2.1')).toBe(false);
  });
});

describe('the token', () => {
  it('is 32 random bytes, URL-safe, new each time', () => {
    const a = newToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(a);
  });

  it('matches only itself, whatever the length of the guess', () => {
    const t = newToken();
    expect(tokenMatches(t, t)).toBe(true);
    expect(tokenMatches(undefined, t)).toBe(false);
    expect(tokenMatches('', t)).toBe(false);
    expect(tokenMatches(t.slice(0, -1), t)).toBe(false);
    expect(tokenMatches(t + 'x', t)).toBe(false);
  });

  it('comes from ?token=, an Authorization header, or the port\'s cookie', () => {
    const u = (s: string) => new URL(s, 'http://x');
    expect(requestToken(u('/?token=abc'), {}, 8080)).toEqual({ value: 'abc', from: 'query' });
    expect(requestToken(u('/'), { authorization: 'token abc' }, 8080)).toEqual({ value: 'abc', from: 'header' });
    expect(requestToken(u('/'), { cookie: 'a=1; qkvm-web-8080=abc' }, 8080)).toEqual({ value: 'abc', from: 'cookie' });
    // Another console's cookie (another port) is not this one's.
    expect(requestToken(u('/'), { cookie: 'qkvm-web-9090=abc' }, 8080)).toEqual({});
    expect(cookieName(8080)).toBe('qkvm-web-8080');
    expect(parseCookies('x=1;  y = 2 ')).toEqual({ x: '1', y: '2' });
  });
});

describe('same origin', () => {
  const hosts = servedHosts({ host: '127.0.0.1', port: 0 }, 8080);

  it('a loopback console answers to 127.0.0.1:PORT and localhost:PORT', () => {
    expect(hosts).toEqual(new Set(['127.0.0.1:8080', 'localhost:8080']));
    expect(servedHosts({ host: '::1', port: 80 }, 80)).toEqual(new Set(['[::1]:80', 'localhost:80']));
    expect(servedHosts({ host: '0.0.0.0', port: 80 }, 80)).toBe('any');
  });

  it('the Origin must be exactly http:// plus the Host, and the Host one it serves', () => {
    expect(originAllowed('http://127.0.0.1:8080', '127.0.0.1:8080', hosts)).toBe(true);
    expect(originAllowed('http://localhost:8080', 'localhost:8080', hosts)).toBe(true);
    expect(originAllowed('http://localhost:8080', '127.0.0.1:8080', hosts)).toBe(false);
    expect(originAllowed('http://evil.example', '127.0.0.1:8080', hosts)).toBe(false);
    expect(originAllowed('https://127.0.0.1:8080', '127.0.0.1:8080', hosts)).toBe(false);
    expect(originAllowed('http://127.0.0.1:8081', '127.0.0.1:8080', hosts)).toBe(false);
    expect(originAllowed(undefined, '127.0.0.1:8080', hosts)).toBe(false);
    expect(originAllowed('null', '127.0.0.1:8080', hosts)).toBe(false);
    // DNS rebinding: the browser sends the attacker's name as Host and as Origin.
    expect(originAllowed('http://evil.example:8080', 'evil.example:8080', hosts)).toBe(false);
  });
});
