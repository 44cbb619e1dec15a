// The QMP client library: usable on its own, without the rest of qkvm.
export { QmpClient } from './client.js';
export {
  QmpError,
  QmpConnectError,
  QmpStateError,
  QmpExecuteError,
  QmpProtocolError,
  QmpInterruptedError,
  QmpTimeoutError,
  QmpAbortedError,
  type QmpErrorCode,
} from './errors.js';
export {
  QmpState,
  type QmpCallOptions,
  type QmpClientOptions,
  type QmpConnectOptions,
  type QmpEvent,
  type QmpEventFilter,
  type QmpEventListener,
  type QmpGreeting,
  type QmpHmpOptions,
  type QmpStatusInfo,
  type QmpTimestamp,
  type QmpVersion,
  type QmpWaitOptions,
} from './types.js';
