// Wire shapes and option types of the QMP client. Names follow QEMU's QMP spec
// (docs/interop/qmp-spec.rst) so they can be looked up there.

export const QmpState = {
  Idle: 'idle',                   // created, connect() not called yet
  Connecting: 'connecting',       // opening the socket, greeting, qmp_capabilities
  Running: 'running',             // commands and events flow
  Disconnecting: 'disconnecting', // close() called, socket not closed yet
  Closed: 'closed',               // final: a client is not reused
} as const;
export type QmpState = (typeof QmpState)[keyof typeof QmpState];

export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

export interface QmpGreeting {
  QMP: { version: QmpVersion; capabilities: string[] };
}

export interface QmpTimestamp {
  seconds: number;
  microseconds: number;
}

export interface QmpEvent<D extends object = Record<string, unknown>> {
  event: string;
  // Always an object: QEMU omits `data` for events such as RESUME, we put {} there.
  data: D;
  timestamp: QmpTimestamp;
}

// The reply to query-status.
export interface QmpStatusInfo {
  status: string;
  running: boolean;
  singlestep: boolean;
}

// An event filter: one name, any of several names, or names and/or a predicate.
export type QmpEventFilter =
  | string
  | readonly string[]
  | {
      event?: string | readonly string[];
      where?: (data: Record<string, unknown>, event: QmpEvent) => boolean;
    };

export type QmpEventListener = (event: QmpEvent) => void;

export interface QmpClientOptions {
  // Timeout of a call that passes no timeoutMs; 10 s suits queries.
  defaultTimeoutMs?: number;
  // Negotiate out-of-band execution when QEMU offers it (default true).
  oob?: boolean;
}

export interface QmpConnectOptions {
  // Limit for one attempt: socket connect, greeting, and qmp_capabilities (default 10 s).
  timeoutMs?: number;
  // Until this moment (ms since the epoch, or a Date), a missing socket (ENOENT)
  // or a refused connection (ECONNREFUSED) is retried: QEMU may not have made it yet.
  retryUntil?: number | Date;
  // Pause between two attempts (default 50 ms).
  retryIntervalMs?: number;
  signal?: AbortSignal;
}

export interface QmpCallOptions {
  // Give up after this long; Infinity waits forever. The command may still run in QEMU.
  timeoutMs?: number;
  signal?: AbortSignal;
  // Send as exec-oob; only for commands QEMU allows out of band, after oob was negotiated.
  oob?: boolean;
}

export interface QmpWaitOptions {
  // Default: no limit (the wait still ends when the connection closes).
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface QmpHmpOptions extends QmpCallOptions {
  // The CPU that commands such as `info registers` refer to.
  cpuIndex?: number;
}
