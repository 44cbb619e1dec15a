// One error type for everything below cli/. `code` is stable and meant for
// programs; `hint` says what the user can do about it.
export type QkvmErrorCode =
  | 'INVALID'        // bad user input: a name, size, path, MAC, field
  | 'NOT_FOUND'      // no such guest, network, pool, volume, snapshot
  | 'EXISTS'         // already defined
  | 'STATE'          // the guest is in the wrong state for this command
  | 'LOCKED'         // another qkvm command holds the lock
  | 'QEMU'           // QEMU or qemu-img refused or failed
  | 'TIMEOUT'        // waited long enough
  | 'HOST'           // something on the host is missing (a package, /dev/net/tun)
  | 'IN_USE';        // an image or resource is in use by a running guest

export class QkvmError extends Error {
  readonly code: QkvmErrorCode;
  readonly hint?: string;

  constructor(code: QkvmErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'QkvmError';
    this.code = code;
    this.hint = opts.hint;
  }
}

export const invalid = (message: string, hint?: string) => new QkvmError('INVALID', message, { hint });
export const notFound = (message: string, hint?: string) => new QkvmError('NOT_FOUND', message, { hint });
