// Event listeners and one-shot waiters, matched by compiled filters.
import { QmpAbortedError, QmpError, QmpTimeoutError } from './errors.js';
import type { QmpEvent, QmpEventFilter, QmpEventListener, QmpWaitOptions } from './types.js';

type Matcher = (event: QmpEvent) => boolean;

interface Registration {
  match: Matcher;
  listener: QmpEventListener;
  // A listener that throws is a bug: by default it surfaces as an uncaught exception,
  // asynchronously, so the session keeps routing messages.
  fail: (err: unknown) => void;
}

const rethrowLater = (err: unknown): void => queueMicrotask(() => { throw err; });

export function compileFilter(filter: QmpEventFilter): Matcher {
  if (typeof filter === 'string') return (ev) => ev.event === filter;
  if (Array.isArray(filter)) {
    const names = new Set<string>(filter as readonly string[]);
    return (ev) => names.has(ev.event);
  }
  if (typeof filter !== 'object' || filter === null) {
    throw new TypeError(`invalid QMP event filter: ${String(filter)} (expected a name, names, or { event, where })`);
  }
  const { event, where } = filter as Exclude<QmpEventFilter, string | readonly string[]>;
  if (where !== undefined && typeof where !== 'function') {
    throw new TypeError(`invalid QMP event filter: "where" must be a function, got ${typeof where}`);
  }
  const names = event === undefined ? undefined : new Set<string>(typeof event === 'string' ? [event] : event);
  return (ev) => (names === undefined || names.has(ev.event)) && (where === undefined || where(ev.data, ev));
}

export function describeFilter(filter: QmpEventFilter): string {
  if (typeof filter === 'string') return filter;
  if (Array.isArray(filter)) return filter.join('|');
  const { event, where } = filter as Exclude<QmpEventFilter, string | readonly string[]>;
  const names = event === undefined ? 'any event' : typeof event === 'string' ? event : event.join('|');
  return where === undefined ? names : `${names} (with predicate)`;
}

export class EventHub {
  // Replaced, never mutated, so dispatch can iterate without copying.
  #regs: readonly Registration[] = [];
  readonly #waiters = new Set<(err: QmpError) => void>();

  get listenerCount(): number {
    return this.#regs.length;
  }

  // Returns a function that removes this one registration.
  on(filter: QmpEventFilter, listener: QmpEventListener): () => void {
    if (typeof listener !== 'function') throw new TypeError(`QMP event listener must be a function, got ${typeof listener}`);
    const reg: Registration = { match: compileFilter(filter), listener, fail: rethrowLater };
    this.#add(reg);
    return () => this.#remove(reg);
  }

  // Removes every registration of this listener.
  off(listener: QmpEventListener): void {
    this.#regs = this.#regs.filter((r) => r.listener !== listener);
  }

  dispatch(event: QmpEvent): void {
    for (const reg of this.#regs) {
      try {
        if (reg.match(event)) reg.listener(event);
      } catch (err) {
        reg.fail(err);
      }
    }
  }

  // Subscribes synchronously, before returning, so a caller can send a command next.
  wait(filter: QmpEventFilter, opts: QmpWaitOptions = {}): Promise<QmpEvent> {
    const { timeoutMs, signal } = opts;
    return new Promise<QmpEvent>((resolve, reject) => {
      const what = `waiting for ${describeFilter(filter)}`;
      if (signal?.aborted) {
        reject(new QmpAbortedError(what, signal.reason));
        return;
      }
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.#remove(reg);
        this.#waiters.delete(fail);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: unknown): void => {
        done();
        reject(err);
      };
      const onAbort = (): void => fail(new QmpAbortedError(what, signal!.reason));
      // A predicate that throws rejects this wait instead of crashing the process.
      const reg: Registration = {
        match: compileFilter(filter),
        listener: (ev) => {
          done();
          resolve(ev);
        },
        fail,
      };
      if (timeoutMs !== undefined && timeoutMs !== Infinity) {
        timer = setTimeout(() => fail(new QmpTimeoutError(what, timeoutMs, `no ${describeFilter(filter)} event within ${timeoutMs} ms`)), timeoutMs);
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(fail);
      this.#add(reg);
    });
  }

  // Rejects every pending wait: the connection is gone, no event can come.
  failWaiters(makeError: () => QmpError): void {
    for (const fail of [...this.#waiters]) fail(makeError());
  }

  #add(reg: Registration): void {
    this.#regs = [...this.#regs, reg];
  }

  #remove(reg: Registration): void {
    const i = this.#regs.indexOf(reg);
    if (i !== -1) this.#regs = [...this.#regs.slice(0, i), ...this.#regs.slice(i + 1)];
  }
}
