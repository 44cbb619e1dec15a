// The QEMU guest agent (QGA) protocol client. QGA looks like QMP (one JSON
// command per line, {"return": ...} or {"error": ...} back) but has no greeting,
// no capabilities and no events, and the channel outlives its clients: a reply
// meant for an earlier client (one that timed out) can still be in the pipe, and
// a guest without a running qemu-ga answers nothing at all. So every exchange
// starts with guest-sync-delimited and a random id: qemu-ga answers it with a
// 0xFF byte and then {"return": id}. Everything before that reply is stale and
// dropped. 0xFF never occurs in UTF-8, so the sentinel is found in the raw bytes.
import { randomInt } from 'node:crypto';
import type net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { LineDecoder, openUnixSocket } from '../qmp/transport.js';
import { AgentCommandError, AgentError, AgentNotAnsweringError, AgentTimeoutError, formatMs } from './errors.js';

const SENTINEL = 0xff;
const DEFAULT_SYNC_TIMEOUT_MS = 5_000;
const DEFAULT_TIMEOUT_MS = 10_000;
// A command that answers only on failure (guest-shutdown): how long an error may take to come back.
const DEFAULT_NO_REPLY_GRACE_MS = 1_000;
const MAX_TIMER_MS = 2_147_483_647;

export interface QgaClientOptions {
  /** How long guest-sync-delimited may take before the agent counts as not answering. */
  syncTimeoutMs?: number;
  /** Timeout of a command that gives none. */
  defaultTimeoutMs?: number;
  /** Send a 0xFF before each sync, so qemu-ga drops a half-read command of an earlier client (default true). */
  flush?: boolean;
}

export interface QgaCallOptions {
  timeoutMs?: number;
  /**
   * The command answers only when it fails (guest-shutdown, guest-suspend-*): wait
   * this long for an error, then count it as done.
   */
  noReply?: boolean | { graceMs: number };
}

type Waiter =
  | { kind: 'sync'; id: number; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'reply'; id: number; command: string; resolve: (v: unknown) => void; reject: (e: unknown) => void };

function checkTimeout(option: string, value: number | undefined): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    throw new RangeError(`invalid ${option}: ${String(value)} (expected a number of ms in 1..${MAX_TIMER_MS})`);
  }
}

export class QgaClient {
  readonly path: string;
  readonly #socket: net.Socket;
  readonly #syncTimeoutMs: number;
  readonly #defaultTimeoutMs: number;
  readonly #flush: boolean;
  #text = new StringDecoder('utf8');
  #lines: LineDecoder;
  // The next complete line is the one right after a 0xFF: a delimited sync reply.
  #afterSentinel = false;
  #waiter: Waiter | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed: AgentError | undefined;

  private constructor(path: string, socket: net.Socket, opts: QgaClientOptions) {
    this.path = path;
    this.#socket = socket;
    this.#syncTimeoutMs = opts.syncTimeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS;
    this.#defaultTimeoutMs = opts.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#flush = opts.flush ?? true;
    this.#lines = new LineDecoder(this.#onLine);
    socket.on('data', this.#onData);
    socket.on('error', (err) => this.#fail(new AgentError('AGENT_PROTOCOL', `guest agent socket ${path}: ${err.message}`, { cause: err })));
    socket.on('close', () => this.#fail(new AgentError('AGENT_PROTOCOL', `guest agent socket ${path}: closed by QEMU`)));
  }

  /** Opens the socket. It does not talk yet: the first call syncs. Rejects with the raw socket error (ENOENT...). */
  static async connect(path: string, opts: QgaClientOptions & { signal?: AbortSignal } = {}): Promise<QgaClient> {
    checkTimeout('syncTimeoutMs', opts.syncTimeoutMs);
    checkTimeout('defaultTimeoutMs', opts.defaultTimeoutMs);
    const socket = await openUnixSocket(path, opts.signal);
    return new QgaClient(path, socket, opts);
  }

  /** Runs one command: sync, then the command; one exchange at a time, in call order. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, opts: QgaCallOptions = {}): Promise<T> {
    const run = this.#queue.then(() => this.#exchange(command, args, opts));
    this.#queue = run.catch(() => undefined);
    return run as Promise<T>;
  }

  /** Syncs only: resolves when qemu-ga answers, rejects with AgentNotAnsweringError when it does not. */
  sync(timeoutMs?: number): Promise<void> {
    const run = this.#queue.then(() => this.#sync(timeoutMs ?? this.#syncTimeoutMs));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.#fail(new AgentError('AGENT_CLOSED', 'guest agent: the client was closed'));
  }

  async #exchange(command: string, args: Record<string, unknown> | undefined, opts: QgaCallOptions): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.#defaultTimeoutMs;
    checkTimeout('timeoutMs', timeoutMs);
    await this.#sync(this.#syncTimeoutMs);
    const id = randomInt(1, 2 ** 31 - 1);
    // qemu-ga copies "id" into its reply: a reply with another id is stale.
    const line = JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id }) + '\n';
    if (opts.noReply) {
      const graceMs = typeof opts.noReply === 'object' ? opts.noReply.graceMs : DEFAULT_NO_REPLY_GRACE_MS;
      try {
        return await this.#await({ kind: 'reply', id, command }, line, graceMs, () => undefined);
      } catch (e) {
        // The guest went away (it shut down, as asked) before any error came: done.
        if (e instanceof AgentError && e.agentCode === 'AGENT_PROTOCOL') return undefined;
        throw e;
      }
    }
    return this.#await({ kind: 'reply', id, command }, line, timeoutMs, () => new AgentTimeoutError(command, timeoutMs));
  }

  #sync(timeoutMs: number): Promise<void> {
    const id = randomInt(1, 2 ** 31 - 1);
    const line = JSON.stringify({ execute: 'guest-sync-delimited', arguments: { id } }) + '\n';
    return this.#await({ kind: 'sync', id }, this.#flush ? Buffer.concat([Buffer.from([SENTINEL]), Buffer.from(line)]) : line, timeoutMs,
      () => new AgentNotAnsweringError(`guest agent at ${this.path} did not answer guest-sync within ${formatMs(timeoutMs)}`, timeoutMs, {
        hint: 'the guest may still be booting, or qemu-ga is not installed or not running in it (systemctl status qemu-guest-agent); another client may also hold the channel',
      })) as Promise<void>;
  }

  // Sends `data` and waits for the matching line; onTimeout's value resolves (undefined) or rejects (an Error).
  #await(w: { kind: 'sync'; id: number } | { kind: 'reply'; id: number; command: string }, data: string | Buffer, timeoutMs: number,
    onTimeout: () => Error | undefined): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        const e = onTimeout();
        if (e) reject(e); else resolve(undefined);
      }, timeoutMs);
      const settle = <A extends unknown[]>(f: (...a: A) => void) => (...a: A) => { clearTimeout(timer); this.#waiter = undefined; f(...a); };
      this.#waiter = { ...w, resolve: settle(resolve), reject: settle(reject) } as Waiter;
      this.#socket.write(data);
    });
  }

  #onData = (chunk: Buffer): void => {
    let rest = chunk;
    for (;;) {
      const at = rest.indexOf(SENTINEL);
      const part = at < 0 ? rest : rest.subarray(0, at);
      if (part.length > 0 && !this.#lines.push(this.#text.write(part))) {
        this.#fail(new AgentError('AGENT_PROTOCOL', `guest agent at ${this.path}: a reply line too long`));
        return;
      }
      if (at < 0) return;
      // A sentinel: whatever half line came before it is garbage from an earlier exchange.
      this.#text = new StringDecoder('utf8');
      this.#lines = new LineDecoder(this.#onLine);
      this.#afterSentinel = true;
      rest = rest.subarray(at + 1);
    }
  };

  #onLine = (raw: string): boolean => {
    const delimited = this.#afterSentinel;
    this.#afterSentinel = false;
    const w = this.#waiter;
    if (w === undefined) return true; // nobody asked: a late reply
    let msg: any;
    try {
      msg = JSON.parse(raw);
    } catch {
      // Before the sync reply, noise is expected (a half line of an earlier client's).
      if (w.kind === 'sync') return true;
      w.reject(new AgentError('AGENT_PROTOCOL', `guest agent: ${w.command}: malformed reply: ${raw.slice(0, 200)}`));
      return true;
    }
    if (typeof msg !== 'object' || msg === null) return true;
    if (w.kind === 'sync') {
      if (delimited && msg.return === w.id) w.resolve();
      return true;
    }
    // A delimited line is a sync reply; a reply with another id is an earlier client's.
    if (delimited || (msg.id !== undefined && msg.id !== w.id)) return true;
    if ('error' in msg) {
      w.reject(new AgentCommandError(w.command, String(msg.error?.class ?? 'GenericError'), String(msg.error?.desc ?? JSON.stringify(msg.error))));
    } else if ('return' in msg) {
      w.resolve(msg.return);
    }
    return true;
  };

  #fail(e: AgentError): void {
    if (this.#closed) return;
    this.#closed = e;
    this.#socket.destroy();
    this.#waiter?.reject(e);
  }
}
