// The QMP session: handshake, id-routed calls, events, and the state machine.
import type net from 'node:net';
import {
  QmpAbortedError,
  QmpConnectError,
  QmpError,
  QmpExecuteError,
  QmpInterruptedError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
} from './errors.js';
import { EventHub } from './events.js';
import { LineTransport, openUnixSocket } from './transport.js';
import {
  QmpState,
  type QmpCallOptions,
  type QmpClientOptions,
  type QmpConnectOptions,
  type QmpEvent,
  type QmpEventFilter,
  type QmpEventListener,
  type QmpGreeting,
  type QmpHmpOptions,
  type QmpWaitOptions,
} from './types.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_INTERVAL_MS = 50;
// setTimeout fires at once for delays past 2^31-1 ms, so larger values are refused.
const MAX_TIMER_MS = 2_147_483_647;
const EMPTY_DATA: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

interface PendingCall {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

function checkTimeout(option: string, value: number | undefined): void {
  if (value === undefined || value === Infinity) return;
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    throw new RangeError(`invalid ${option}: ${String(value)} (expected a number of ms in 1..${MAX_TIMER_MS}, or Infinity)`);
  }
}

function isRetryable(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class QmpClient {
  #state: QmpState = QmpState.Idle;
  #transport: LineTransport | undefined;
  #greeting: QmpGreeting | undefined;
  #onGreeting: ((greeting: QmpGreeting) => void) | undefined;
  #failGreeting: ((err: unknown) => void) | undefined;
  #capabilities: readonly string[] = [];
  #nextId = 1;
  readonly #pending = new Map<number, PendingCall>();
  readonly #events = new EventHub();
  readonly #defaultTimeoutMs: number;
  readonly #offerOob: boolean;
  #closeReason: QmpError | undefined;
  #resolveClosed!: () => void;
  readonly #closed = new Promise<void>((resolve) => { this.#resolveClosed = resolve; });

  constructor(options: QmpClientOptions = {}) {
    checkTimeout('defaultTimeoutMs', options.defaultTimeoutMs);
    this.#defaultTimeoutMs = options.defaultTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#offerOob = options.oob ?? true;
  }

  // Creates a client and connects it.
  static async connect(path: string, options: QmpConnectOptions & QmpClientOptions = {}): Promise<QmpClient> {
    const client = new QmpClient(options);
    await client.connect(path, options);
    return client;
  }

  get state(): QmpState {
    return this.#state;
  }

  get greeting(): QmpGreeting | undefined {
    return this.#greeting;
  }

  // Capabilities enabled by qmp_capabilities, e.g. ["oob"].
  get capabilities(): readonly string[] {
    return this.#capabilities;
  }

  get oob(): boolean {
    return this.#capabilities.includes('oob');
  }

  // Why the connection closed: undefined after a clean close, else the error.
  get closeReason(): QmpError | undefined {
    return this.#closeReason;
  }

  // Resolves (never rejects) once the state is closed, for whatever reason.
  get closed(): Promise<void> {
    return this.#closed;
  }

  async connect(path: string, options: QmpConnectOptions = {}): Promise<void> {
    if (this.#state !== QmpState.Idle) throw new QmpStateError('connect', this.#state);
    const { timeoutMs = DEFAULT_TIMEOUT_MS, retryIntervalMs = DEFAULT_RETRY_INTERVAL_MS, signal } = options;
    checkTimeout('timeoutMs', timeoutMs);
    checkTimeout('retryIntervalMs', retryIntervalMs);
    const retryUntil = options.retryUntil instanceof Date ? options.retryUntil.getTime() : options.retryUntil;
    if (retryUntil !== undefined && !Number.isFinite(retryUntil)) {
      throw new RangeError(`invalid retryUntil: ${String(options.retryUntil)} (expected ms since the epoch, or a Date)`);
    }
    this.#state = QmpState.Connecting;
    try {
      const socket = await this.#openWithRetry(path, retryUntil ?? 0, retryIntervalMs, signal);
      await this.#handshake(path, socket, timeoutMs, signal);
    } catch (err) {
      // Closed first, so the socket's own close does not overwrite the reason.
      this.#failAll((op) => new QmpInterruptedError(op, `${op}: connect() failed`, { cause: err }));
      this.#setClosed(err instanceof QmpError ? err : undefined);
      this.#transport?.destroy();
      // Timeouts and aborts keep their own codes here as everywhere; the rest is a connect failure.
      if (err instanceof QmpConnectError || err instanceof QmpTimeoutError || err instanceof QmpAbortedError) throw err;
      throw new QmpConnectError(path, `cannot connect to QMP socket ${path}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>, options?: QmpCallOptions): Promise<T> {
    if (this.#state !== QmpState.Running) return Promise.reject(new QmpStateError(`execute ${command}`, this.#state));
    if (options?.oob === true && !this.oob) {
      return Promise.reject(new QmpStateError(`execute ${command}`, this.#state, `cannot execute ${command} out of band: oob was not negotiated`));
    }
    return this.#call(command, args, options) as Promise<T>;
  }

  // Subscribes to the event before sending, so an event that QEMU sends before
  // (or right after) the reply is not missed. One deadline covers both.
  async executeAndWait<T = unknown>(
    command: string,
    args: Record<string, unknown> | undefined,
    filter: QmpEventFilter,
    options: QmpCallOptions = {},
  ): Promise<{ result: T; event: QmpEvent }> {
    const { signal, timeoutMs = this.#defaultTimeoutMs } = options;
    const stop = new AbortController();
    const onAbort = (): void => stop.abort(signal!.reason);
    if (signal?.aborted) stop.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const eventP = this.waitForEvent(filter, { timeoutMs, signal: stop.signal });
      const resultP = this.execute<T>(command, args, { ...options, timeoutMs, signal: stop.signal });
      const [result, event] = await Promise.all([resultP, eventP]);
      return { result, event };
    } finally {
      // Ends whichever half is still pending when the other failed.
      stop.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  // Runs an HMP command line; HMP reports its own errors in the returned text.
  hmp(commandLine: string, options: QmpHmpOptions = {}): Promise<string> {
    const { cpuIndex, ...callOptions } = options;
    const args: Record<string, unknown> = { 'command-line': commandLine };
    if (cpuIndex !== undefined) args['cpu-index'] = cpuIndex;
    return this.execute<string>('human-monitor-command', args, callOptions);
  }

  on(filter: QmpEventFilter, listener: QmpEventListener): () => void {
    return this.#events.on(filter, listener);
  }

  off(listener: QmpEventListener): void {
    this.#events.off(listener);
  }

  waitForEvent(filter: QmpEventFilter, options: QmpWaitOptions = {}): Promise<QmpEvent> {
    if (this.#state === QmpState.Disconnecting || this.#state === QmpState.Closed) {
      return Promise.reject(new QmpStateError('wait for an event', this.#state));
    }
    try {
      checkTimeout('timeoutMs', options.timeoutMs);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#events.wait(filter, options);
  }

  // Pending calls and waits reject with QmpInterruptedError at once.
  close(): Promise<void> {
    if (this.#state === QmpState.Idle) {
      this.#setClosed(undefined);
    } else if (this.#state === QmpState.Connecting || this.#state === QmpState.Running) {
      this.#failAll((op) => new QmpInterruptedError(op, `${op}: the QMP connection was closed by the client`));
      this.#failGreeting?.(new QmpInterruptedError('connect', 'connect() interrupted by close()'));
      this.#state = QmpState.Disconnecting;
      if (this.#transport !== undefined) this.#transport.end();
      else this.#setClosed(undefined);
    }
    return this.#closed;
  }

  async #openWithRetry(path: string, retryUntil: number, intervalMs: number, signal: AbortSignal | undefined): Promise<net.Socket> {
    for (;;) {
      if (signal?.aborted) throw new QmpAbortedError(`connect ${path}`, signal.reason);
      // close() during connect: stop here rather than open a socket nobody wants.
      if (this.#state !== QmpState.Connecting) throw new QmpInterruptedError('connect', 'connect() interrupted by close()');
      try {
        return await openUnixSocket(path, signal);
      } catch (err) {
        if (signal?.aborted) throw new QmpAbortedError(`connect ${path}`, signal.reason);
        if (!isRetryable(err) || Date.now() + intervalMs > retryUntil) throw err;
      }
      await sleep(intervalMs, signal).catch(() => undefined);
    }
  }

  async #handshake(path: string, socket: net.Socket, timeoutMs: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#state !== QmpState.Connecting) {
      socket.destroy();
      throw new QmpInterruptedError('connect', 'connect() interrupted by close()');
    }
    this.#transport = new LineTransport(socket, { message: this.#onMessage, close: this.#onTransportClose });
    const stop = new AbortController();
    const timer = setTimeout(() => {
      stop.abort(new QmpTimeoutError('connect', timeoutMs,
        `${path}: no QMP greeting and capabilities within ${timeoutMs} ms (QEMU takes one client per QMP socket: is another connected?)`));
    }, timeoutMs);
    const onAbort = (): void => stop.abort(new QmpAbortedError(`connect ${path}`, signal!.reason));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      const greeting = await new Promise<QmpGreeting>((resolve, reject) => {
        this.#onGreeting = resolve;
        this.#failGreeting = reject;
        stop.signal.addEventListener('abort', () => reject(stop.signal.reason), { once: true });
      });
      const offered = Array.isArray(greeting.QMP.capabilities) ? greeting.QMP.capabilities : [];
      const enable = this.#offerOob && offered.includes('oob') ? ['oob'] : [];
      await this.#call('qmp_capabilities', enable.length > 0 ? { enable } : undefined, { signal: stop.signal, timeoutMs: Infinity });
      if (this.#state !== QmpState.Connecting) throw this.#closeReason ?? new QmpInterruptedError('connect', 'connect() interrupted by close()');
      this.#capabilities = enable;
      this.#state = QmpState.Running;
    } catch (err) {
      // The abort reason (timeout or caller's signal) is clearer than the call's wrapper.
      throw stop.signal.aborted ? stop.signal.reason : err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      this.#onGreeting = undefined;
      this.#failGreeting = undefined;
    }
  }

  #call(command: string, args: Record<string, unknown> | undefined, options: QmpCallOptions | undefined): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.#defaultTimeoutMs;
    const signal = options?.signal;
    let line: string;
    try {
      checkTimeout('timeoutMs', timeoutMs);
      if (signal?.aborted) throw new QmpAbortedError(command, signal.reason);
      line = JSON.stringify(this.#request(command, args, this.#nextId, options?.oob === true)) + '\n';
    } catch (err) {
      // Bad options, an aborted signal, or arguments JSON cannot encode (a cycle, a BigInt).
      return Promise.reject(err);
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const call: PendingCall = { command, resolve, reject, timer: undefined, signal, onAbort: undefined };
      if (timeoutMs !== Infinity) call.timer = setTimeout(this.#onCallTimeout, timeoutMs, id, timeoutMs);
      if (signal !== undefined) {
        call.onAbort = () => this.#settleWithError(id, new QmpAbortedError(command, signal.reason));
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.#pending.set(id, call);
      this.#transport!.send(line);
    });
  }

  #request(command: string, args: Record<string, unknown> | undefined, id: number, oob: boolean): object {
    if (oob) return args === undefined ? { 'exec-oob': command, id } : { 'exec-oob': command, arguments: args, id };
    return args === undefined ? { execute: command, id } : { execute: command, arguments: args, id };
  }

  #onCallTimeout = (id: number, timeoutMs: number): void => {
    const call = this.#pending.get(id);
    if (call !== undefined) this.#settleWithError(id, new QmpTimeoutError(call.command, timeoutMs));
  };

  #take(id: number): PendingCall | undefined {
    const call = this.#pending.get(id);
    if (call === undefined) return undefined;
    this.#pending.delete(id);
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.onAbort !== undefined) call.signal!.removeEventListener('abort', call.onAbort);
    return call;
  }

  #settleWithError(id: number, err: unknown): void {
    this.#take(id)?.reject(err);
  }

  // The hot path: a reply with a known id is settled before anything else is looked at.
  #onMessage = (raw: unknown, line: string): void => {
    const msg = raw as Record<string, any>;
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) {
      this.#protocolError('QMP message is not a JSON object', line);
      return;
    }
    const id = msg.id;
    if (id !== undefined) {
      const call = this.#take(id);
      if (call !== undefined) {
        const error = msg.error;
        if (error === undefined) call.resolve(msg.return);
        else call.reject(new QmpExecuteError(call.command, String(error.class), String(error.desc)));
        return;
      }
      // A late reply to a call that timed out or was aborted: nobody waits for it.
      if (typeof id === 'number' && id < this.#nextId && ('return' in msg || 'error' in msg)) return;
      this.#protocolError(`QMP reply with an unknown id: ${JSON.stringify(id)}`, line);
      return;
    }
    if (typeof msg.event === 'string') {
      if (this.#events.listenerCount === 0) return;
      const event: QmpEvent = { event: msg.event, data: msg.data ?? EMPTY_DATA, timestamp: msg.timestamp };
      this.#events.dispatch(event);
      return;
    }
    if (typeof msg.QMP === 'object' && msg.QMP !== null && this.#onGreeting !== undefined && this.#greeting === undefined) {
      this.#greeting = msg as QmpGreeting;
      this.#onGreeting(this.#greeting);
      return;
    }
    if (msg.error !== undefined) {
      // QEMU answers without an id only when it could not read the request at all.
      this.#protocolError(`QEMU could not parse a request: ${String(msg.error.desc)}`, line);
      return;
    }
    this.#protocolError('unexpected QMP message', line);
  };

  #protocolError(message: string, line: string): void {
    this.#transport?.destroy(new QmpProtocolError(message, { line }));
  }

  #onTransportClose = (reason: Error | undefined): void => {
    if (this.#state === QmpState.Closed) return;
    let closeReason: QmpError | undefined;
    let makeError: (operation: string) => QmpError;
    if (reason instanceof QmpProtocolError) {
      // Documented choice: after bad input the stream cannot be trusted, so every
      // pending call fails with the protocol error and the connection closes.
      closeReason = reason;
      makeError = () => reason;
    } else if (this.#state === QmpState.Disconnecting) {
      makeError = (op) => new QmpInterruptedError(op, `${op}: the QMP connection was closed by the client`);
    } else {
      closeReason = new QmpInterruptedError('connection', 'the QMP connection was closed by the peer', { cause: reason });
      makeError = (op) => new QmpInterruptedError(op, `${op}: the QMP connection was closed by the peer`, { cause: reason });
    }
    this.#failAll(makeError);
    this.#failGreeting?.(closeReason ?? makeError('connect'));
    this.#setClosed(closeReason);
  };

  #failAll(makeError: (operation: string) => QmpError): void {
    for (const [id, call] of [...this.#pending]) this.#settleWithError(id, makeError(call.command));
    this.#events.failWaiters(() => makeError('wait for an event'));
  }

  #setClosed(reason: QmpError | undefined): void {
    if (this.#state === QmpState.Closed) return;
    this.#state = QmpState.Closed;
    this.#closeReason ??= reason;
    this.#resolveClosed();
  }
}
