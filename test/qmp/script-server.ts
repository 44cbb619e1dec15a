// A scripted QMP peer on a real UNIX socket: it sends a greeting, then plays steps
// (expect command X -> reply Y, inject an event, write raw bytes, hang up).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type Step =
  // Wait for the client's next message: it must execute `expect`. With `return` or
  // `error` the server answers it; with neither it stays silent.
  | {
      expect: string;
      // Lets a later raw step refer to this command's id as "$ID.name".
      name?: string;
      args?: Record<string, unknown>;
      oob?: boolean;
      return?: unknown;
      error?: { class: string; desc: string };
    }
  | { event: string; data?: Record<string, unknown> }
  // Bytes as they are; "$ID" becomes the id of the last expected command, "$ID.x"
  // the id of the command expected with name "x". Each raw
  // step is a separate write, and the server waits a moment so it arrives alone.
  // splitAt cuts the UTF-8 bytes into several writes, even inside a character.
  | { raw: string; splitAt?: number[] }
  | { close: true }
  // Wait until the client hangs up.
  | { expectClose: true };

export interface ScriptOptions {
  capabilities?: string[];
  // Expect qmp_capabilities first and accept it (default true).
  handshake?: boolean;
  // Send no greeting at all (a QMP socket held by another client looks like this).
  silent?: boolean;
}

export interface ScriptServer {
  path: string;
  // Every message the client sent, parsed.
  received: Record<string, any>[];
  // Resolves when the script ran to its end; rejects when the client deviated.
  done: Promise<void>;
  stop(): Promise<void>;
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startScriptServer(script: Step[], opts: ScriptOptions = {}): Promise<ScriptServer> {
  const dir = mkdtempSync(join(tmpdir(), 'qmp-test-'));
  const path = join(dir, 'qmp.sock');
  const received: Record<string, any>[] = [];
  const steps: Step[] = opts.handshake === false ? script : [{ expect: 'qmp_capabilities', return: {} }, ...script];
  const server = net.createServer();
  const sockets = new Set<net.Socket>();

  const done = new Promise<void>((resolve, reject) => {
    server.once('connection', (socket) => {
      sockets.add(socket);
      play(socket, steps, opts, received).then(resolve, (err) => {
        socket.destroy();
        reject(err);
      });
    });
  });
  done.catch(() => undefined); // the test awaits it; this only avoids an unhandled rejection
  await new Promise<void>((resolve) => server.listen(path, resolve));

  return {
    path,
    received,
    done,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function play(socket: net.Socket, steps: Step[], opts: ScriptOptions, received: Record<string, any>[]): Promise<void> {
  const inbox: string[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      inbox.push(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  socket.on('error', () => undefined);

  const next = async (): Promise<string | undefined> => {
    while (inbox.length === 0 && !ended) await new Promise<void>((r) => (wake = r));
    return inbox.shift();
  };
  const send = (obj: unknown) => new Promise<void>((r) => socket.write(JSON.stringify(obj) + '\r\n', () => r()));

  if (!opts.silent) {
    await send({ QMP: { version: { qemu: { major: 7, minor: 2, micro: 0 }, package: 'script' }, capabilities: opts.capabilities ?? [] } });
  }
  let lastId: unknown;
  const ids = new Map<string, unknown>();
  for (const step of steps) {
    if ('expect' in step) {
      const line = await next();
      if (line === undefined) throw new Error(`script: client hung up, expected ${step.expect}`);
      const msg = JSON.parse(line);
      received.push(msg);
      const verb = step.oob ? 'exec-oob' : 'execute';
      if (msg[verb] !== step.expect) throw new Error(`script: expected ${verb} ${step.expect}, got ${line}`);
      if (step.args !== undefined && JSON.stringify(msg.arguments) !== JSON.stringify(step.args)) {
        throw new Error(`script: ${step.expect} arguments ${JSON.stringify(msg.arguments)}, expected ${JSON.stringify(step.args)}`);
      }
      lastId = msg.id;
      if (step.name !== undefined) ids.set(step.name, msg.id);
      if ('error' in step) await send({ id: msg.id, error: step.error });
      else if ('return' in step) await send({ return: step.return, id: msg.id });
    } else if ('event' in step) {
      const ev: Record<string, unknown> = { timestamp: { seconds: 1, microseconds: 2 }, event: step.event };
      if (step.data !== undefined) ev.data = step.data;
      await send(ev);
    } else if ('raw' in step) {
      const bytes = Buffer.from(step.raw.replace(/\$ID(?:\.(\w+))?/g, (_, name?: string) => JSON.stringify(name === undefined ? lastId : ids.get(name))));
      const cuts = [0, ...(step.splitAt ?? []), bytes.length];
      for (let i = 0; i + 1 < cuts.length; i++) {
        await new Promise<void>((r) => socket.write(bytes.subarray(cuts[i], cuts[i + 1]), () => r()));
        await tick(5);
      }
    } else if ('close' in step) {
      socket.end();
      await new Promise<void>((r) => (socket.closed ? r() : socket.once('close', () => r())));
    } else {
      const line = await next();
      if (line !== undefined) throw new Error(`script: expected the client to hang up, got ${line}`);
    }
  }
}
