// `qkvm web`: one page, a small JSON API and two websockets (serial, screen),
// on node:http + ws, in the foreground. Every request needs the session token;
// every websocket and every POST also needs the served Origin exactly.
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { projectRoot } from '../config/paths.js';
import { validateName } from '../config/name.js';
import { QkvmError, invalid } from '../errors.js';
import { requireActive, startedSpec } from '../runtime/state.js';
import { cookieName, isLoopback, newToken, originAllowed, requestToken, servedHosts, tokenMatches, type Listen } from './auth.js';
import { SerialHub } from './serial.js';
import { screenInfo } from './screen.js';
import { commandView, overview, snapshots } from './state.js';
import { isAction, runAction } from './actions.js';

export interface WebOptions {
  listen: Listen;
  /** Needed for any address that is not loopback. */
  allowRemote?: boolean;
}

export interface WebServer {
  /** The URL with the token: print it once, never put it on a command line. */
  url: string;
  origin: string;
  port: number;
  serial: SerialHub;
  close(): Promise<void>;
}

/** The bundled page (npm run build: scripts/bundle-web.mjs). */
export function assetsDir(): string { return join(projectRoot, 'dist', 'web'); }

function loadAssets(): Record<string, { type: string; body: Buffer }> {
  const dir = assetsDir();
  try {
    return {
      '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(dir, 'index.html')) },
      '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(dir, 'app.js')) },
      '/app.css': { type: 'text/css; charset=utf-8', body: readFileSync(join(dir, 'app.css')) },
    };
  } catch (e: any) {
    throw new QkvmError('HOST', `the web console's page is not built (${e.code ?? e.message} in ${dir})`, { hint: 'npm run build' });
  }
}

const SECURITY_HEADERS: Record<string, string> = {
  // Everything comes from this server; ws: to the same host is 'self' for connect-src.
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // The first URL carries the token: never send it anywhere as a Referer.
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

function statusOf(e: unknown): number {
  if (!(e instanceof QkvmError)) return 500;
  return ({ INVALID: 400, NOT_FOUND: 404, EXISTS: 409, STATE: 409, LOCKED: 409, IN_USE: 409, TIMEOUT: 504 } as Record<string, number>)[e.code] ?? 500;
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(value));
}

function sendError(res: http.ServerResponse, e: unknown): void {
  const err = e as any;
  sendJson(res, statusOf(e), { error: String(err?.message ?? e), hint: err?.hint, code: err?.code });
}

async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 65536) throw invalid('request body too large');
    chunks.push(c as Buffer);
  }
  if (!size) return {};
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
    return v;
  } catch { throw invalid('the request body must be a JSON object'); }
}

function refuseUpgrade(socket: Duplex, status: number, why: string): void {
  socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${why}\n`);
}

export async function startWeb(opts: WebOptions): Promise<WebServer> {
  const { listen } = opts;
  if (!isLoopback(listen.host) && !opts.allowRemote) {
    throw invalid(`--listen ${listen.host}: not a loopback address; the console would be reachable from other hosts`,
      `if you mean it: qkvm web --listen ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port || 8080} --allow-remote`);
  }
  const assets = loadAssets();
  const token = newToken();
  const hub = new SerialHub();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
  let port = listen.port;
  let hosts: Set<string> | 'any' = new Set();
  let cookie = '';

  /** Host, then token; undefined when the request may go on. */
  const gate = (req: http.IncomingMessage, url: URL): { status: number; why: string } | undefined => {
    const host = req.headers.host?.toLowerCase();
    if (!host || (hosts !== 'any' && !hosts.has(host))) return { status: 403, why: `this console does not answer to Host ${JSON.stringify(req.headers.host ?? '')}` };
    const t = requestToken(url, req.headers, port);
    if (!tokenMatches(t.value, token)) return { status: 401, why: 'the token is missing or wrong: open the URL that `qkvm web` printed' };
    return undefined;
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refused = gate(req, url);
    if (refused) {
      res.writeHead(refused.status, { ...SECURITY_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      return res.end(refused.why + '\n');
    }
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && !originAllowed(req.headers.origin, req.headers.host, hosts)) {
      return sendJson(res, 403, { error: `cross-origin request refused (Origin ${JSON.stringify(req.headers.origin ?? '')})` });
    }
    // The first visit carries ?token=: trade it for a cookie and a clean URL (Jupyter's way).
    if (url.searchParams.has('token') && method === 'GET' && url.pathname === '/') {
      url.searchParams.delete('token');
      res.writeHead(302, { ...SECURITY_HEADERS, 'Set-Cookie': `${cookie}=${token}; HttpOnly; SameSite=Strict; Path=/`, Location: url.pathname + url.search });
      return res.end();
    }
    try {
      const asset = method === 'GET' ? assets[url.pathname] : undefined;
      if (asset) {
        res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': asset.type });
        return res.end(asset.body);
      }
      if (method === 'GET' && url.pathname === '/api/overview') return sendJson(res, 200, await overview());
      const m = /^\/api\/guests\/([^/]+)\/([a-z-]+)$/.exec(url.pathname);
      if (m) {
        const name = validateName(decodeURIComponent(m[1]), 'guest name');
        const what = m[2];
        if (method === 'GET' && what === 'cmdline') {
          const st = await requireActive(name, { query: false }).catch(() => undefined);
          return sendJson(res, 200, await commandView(name, st?.pid));
        }
        if (method === 'GET' && what === 'snapshots') return sendJson(res, 200, await snapshots(name));
        if (method === 'POST' && what === 'screen') return sendJson(res, 200, await screenInfo(name, { password: true }));
        if (method === 'POST' && isAction(what)) return sendJson(res, 200, await runAction(name, what, await readBody(req)));
      }
      sendJson(res, 404, { error: `no such page: ${method} ${url.pathname}` });
    } catch (e) {
      sendError(res, e);
    }
  });

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refused = gate(req, url);
    if (refused) return refuseUpgrade(socket, refused.status, refused.why);
    if (!originAllowed(req.headers.origin, req.headers.host, hosts)) {
      return refuseUpgrade(socket, 403, `cross-origin websocket refused (Origin ${JSON.stringify(req.headers.origin ?? '')})`);
    }
    const m = /^\/ws\/(serial|screen)\/([^/]+)$/.exec(url.pathname);
    if (!m) return refuseUpgrade(socket, 404, 'no such websocket');
    let name: string;
    try { name = validateName(decodeURIComponent(m[2]), 'guest name'); } catch (e: any) { return refuseUpgrade(socket, 400, e.message); }
    const kind = m[1];
    (async () => {
      if (kind === 'serial') {
        await requireActive(name, { query: false });
        if (startedSpec(name)?.serial === false) throw new QkvmError('STATE', `guest "${name}" has no serial console (serial: false)`);
        wss.handleUpgrade(req, socket, head, (ws) => serialSocket(ws, name));
      } else {
        const s = await screenInfo(name);
        if (!s.available) throw new QkvmError('STATE', s.reason);
        wss.handleUpgrade(req, socket, head, (ws) => screenSocket(ws, s.host, s.port));
      }
    })().catch((e) => refuseUpgrade(socket, statusOf(e), String(e?.message ?? e)));
  });

  const serialSocket = (ws: WebSocket, name: string) => {
    const h = hub.attach(name, {
      data: (b) => ws.send(b, { binary: true }),
      notice: (text) => ws.send(JSON.stringify({ notice: text })),
    });
    ws.on('message', (d, isBinary) => h.write(isBinary ? (d as Buffer) : d.toString()));
    ws.on('close', () => h.detach());
    ws.on('error', () => h.detach());
  };

  // A byte pipe between noVNC and QEMU's VNC server (QEMU's own websocket support needs another port).
  const screenSocket = (ws: WebSocket, host: string, vncPort: number) => {
    const tcp = net.connect(vncPort, host);
    tcp.on('data', (d) => ws.send(d, { binary: true }));
    tcp.on('close', () => ws.close());
    tcp.on('error', () => ws.close());
    ws.on('message', (d) => tcp.write(d as Buffer));
    ws.on('close', () => tcp.destroy());
    ws.on('error', () => tcp.destroy());
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: any) => reject(e.code === 'EADDRINUSE'
      ? invalid(`--listen ${listen.host}:${listen.port}: the port is in use`, `pick another: qkvm web --listen ${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port + 1}`)
      : new QkvmError('HOST', `cannot listen on ${listen.host}:${listen.port}: ${e.message}`, { cause: e })));
    server.listen(listen.port, listen.host, () => resolve());
  });
  port = (server.address() as net.AddressInfo).port;
  hosts = servedHosts(listen, port);
  cookie = cookieName(port);
  const hostPart = listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '[::1]' : listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  const origin = `http://${hostPart}:${port}`;
  return {
    url: `${origin}/?token=${token}`,
    origin,
    port,
    serial: hub,
    close: async () => {
      hub.closeAll();
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); });
    },
  };
}
