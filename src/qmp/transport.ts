// Line-delimited JSON over a UNIX socket: QEMU writes one message per line ("\r\n"),
// and takes one command per line. Monitors with pretty=on are not supported.
import net from 'node:net';
import { QmpProtocolError } from './errors.js';

// A line longer than this is a broken peer, not a big reply (query-qmp-schema is ~200 KiB).
const MAX_LINE = 32 * 1024 * 1024;

// Splits a stream of text into lines; a line may span chunks, a chunk may hold many lines.
export class LineDecoder {
  #rest = '';
  readonly #onLine: (line: string) => boolean;

  // onLine returns false to stop decoding (the consumer has closed).
  constructor(onLine: (line: string) => boolean) {
    this.#onLine = onLine;
  }

  // Returns false when the unfinished line grows past the limit.
  push(chunk: string): boolean {
    const restLen = this.#rest.length;
    const buf = restLen === 0 ? chunk : this.#rest + chunk;
    let start = 0;
    // The rest holds no newline, so the search starts after it.
    let nl = buf.indexOf('\n', restLen);
    while (nl !== -1) {
      // Skip blank lines ("" or a lone "\r"): JSON.parse would reject them.
      if (nl - start > 1 || (nl - start === 1 && buf.charCodeAt(start) !== 13)) {
        if (!this.#onLine(buf.slice(start, nl))) {
          this.#rest = '';
          return true;
        }
      }
      start = nl + 1;
      nl = buf.indexOf('\n', start);
    }
    this.#rest = start === 0 ? buf : buf.slice(start);
    return this.#rest.length <= MAX_LINE;
  }

  // Text after the last newline, e.g. a frame cut short by the peer closing.
  get pending(): string {
    return this.#rest;
  }
}

export interface TransportHandlers {
  message(msg: unknown, line: string): void;
  // Called once. `reason` is undefined for a clean close by the peer or by end().
  close(reason: Error | undefined): void;
}

export class LineTransport {
  readonly #socket: net.Socket;
  readonly #handlers: TransportHandlers;
  readonly #decoder: LineDecoder;
  #open = true;
  #closed = false;
  #endTimer: NodeJS.Timeout | undefined;

  constructor(socket: net.Socket, handlers: TransportHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.#decoder = new LineDecoder(this.#onLine);
    // A StringDecoder inside the socket keeps multi-byte characters whole across chunks.
    socket.setEncoding('utf8');
    socket.on('data', this.#onData);
    // Data always comes before 'end'; after it nothing more can be answered.
    socket.on('end', () => this.#finish(undefined));
    socket.on('error', (err) => this.#finish(err));
    socket.on('close', () => this.#finish(undefined));
  }

  get open(): boolean {
    return this.#open;
  }

  send(line: string): void {
    this.#socket.write(line);
  }

  // Graceful: flush what was written, then close.
  end(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#socket.end();
    // QEMU closes its side on our EOF; this bounds the wait if it does not.
    this.#endTimer = setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  destroy(reason?: Error): void {
    this.#finish(reason);
  }

  #onData = (chunk: string): void => {
    if (!this.#decoder.push(chunk)) {
      this.#finish(new QmpProtocolError(`QMP line longer than ${MAX_LINE} bytes`));
    }
  };

  #onLine = (line: string): boolean => {
    if (!this.#open) return false;
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch (err) {
      this.#finish(new QmpProtocolError('malformed JSON from QMP peer', { line, cause: err }));
      return false;
    }
    this.#handlers.message(msg, line);
    return this.#open;
  };

  #finish(reason: Error | undefined): void {
    const wasOpen = this.#open;
    this.#open = false;
    this.#socket.destroy();
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#endTimer);
    // After end() our own close is clean, whatever the socket reports.
    this.#handlers.close(wasOpen ? reason : undefined);
  }
}

// Opens a UNIX stream socket; rejects with the raw socket error (ENOENT, ECONNREFUSED...).
export function openUnixSocket(path: string, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    const onAbort = (): void => {
      socket.destroy();
      reject(signal!.reason);
    };
    const settle = (): void => {
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
    };
    const onConnect = (): void => {
      settle();
      resolve(socket);
    };
    const onError = (err: Error): void => {
      settle();
      socket.destroy();
      reject(err);
    };
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
