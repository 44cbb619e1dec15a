// The QMP error tree. Every error this library rejects with is a QmpError whose
// `code` is stable, so programs can branch on it without parsing messages.
export type QmpErrorCode =
  | 'QMP_CONNECT'      // the socket could not be opened or the handshake failed
  | 'QMP_STATE'        // the client is in the wrong state for this call
  | 'QMP_EXECUTE'      // QEMU answered a command with an error
  | 'QMP_PROTOCOL'     // the peer sent something that is not valid QMP
  | 'QMP_INTERRUPTED'  // the connection closed while the call was pending
  | 'QMP_TIMEOUT'      // no answer within timeoutMs
  | 'QMP_ABORTED';     // the caller's AbortSignal fired

export class QmpError extends Error {
  readonly code: QmpErrorCode;

  constructor(code: QmpErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QmpError';
    this.code = code;
  }
}

export class QmpConnectError extends QmpError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('QMP_CONNECT', message, options);
    this.name = 'QmpConnectError';
    this.path = path;
  }
}

export class QmpStateError extends QmpError {
  readonly state: string;
  readonly operation: string;

  constructor(operation: string, state: string, message?: string) {
    super('QMP_STATE', message ?? `cannot ${operation}: the QMP client is ${state}`);
    this.name = 'QmpStateError';
    this.state = state;
    this.operation = operation;
  }
}

export class QmpExecuteError extends QmpError {
  readonly command: string;
  // QEMU's error class, e.g. "GenericError", "CommandNotFound", "DeviceNotFound".
  readonly errorClass: string;
  readonly desc: string;

  constructor(command: string, errorClass: string, desc: string) {
    super('QMP_EXECUTE', `${command}: ${desc} (${errorClass})`);
    this.name = 'QmpExecuteError';
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

export class QmpProtocolError extends QmpError {
  // The offending line, cut short so a huge frame does not bloat logs.
  readonly line: string | undefined;

  constructor(message: string, options?: { line?: string; cause?: unknown }) {
    super('QMP_PROTOCOL', message, options);
    this.name = 'QmpProtocolError';
    this.line = options?.line === undefined ? undefined : options.line.slice(0, 200);
  }
}

export class QmpInterruptedError extends QmpError {
  readonly operation: string;

  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super('QMP_INTERRUPTED', message, options);
    this.name = 'QmpInterruptedError';
    this.operation = operation;
  }
}

export class QmpTimeoutError extends QmpError {
  readonly operation: string;
  readonly timeoutMs: number;

  constructor(operation: string, timeoutMs: number, message?: string) {
    super('QMP_TIMEOUT', message ?? `${operation}: no answer within ${timeoutMs} ms`);
    this.name = 'QmpTimeoutError';
    this.operation = operation;
    this.timeoutMs = timeoutMs;
  }
}

export class QmpAbortedError extends QmpError {
  readonly operation: string;

  // `reason` is the signal's reason, kept as the cause.
  constructor(operation: string, reason: unknown) {
    super('QMP_ABORTED', `${operation}: aborted`, { cause: reason });
    this.name = 'QmpAbortedError';
    this.operation = operation;
  }
}
