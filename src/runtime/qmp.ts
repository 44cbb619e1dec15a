// One short QMP session per command. QEMU serves one client per QMP socket, so
// each guest has two: qmp.sock for commands and qmp-state.sock for list/info,
// which must answer even while a long command (migration, console) holds the first.
import { QmpClient, QmpConnectError, QmpTimeoutError } from '../qmp/index.js';
import { run } from '../config/paths.js';
import { QkvmError } from '../errors.js';

export const stateSocket = (name: string) => run.qmpSocket(name).replace(/qmp\.sock$/, 'qmp-state.sock');

export async function connectQmp(name: string, opts: { timeoutMs?: number; state?: boolean } = {}): Promise<QmpClient> {
  const qmp = new QmpClient();
  const path = opts.state ? stateSocket(name) : run.qmpSocket(name);
  try {
    await qmp.connect(path, { timeoutMs: opts.timeoutMs ?? 5000 });
  } catch (e) {
    if (e instanceof QmpTimeoutError) {
      throw new QkvmError('LOCKED', `guest "${name}": its QMP monitor is busy with another client`, {
        hint: 'another qkvm command (a migration, a snapshot) or a `qkvm qmp` session holds it; try again when it ends', cause: e,
      });
    }
    if (e instanceof QmpConnectError) {
      throw new QkvmError('STATE', `guest "${name}": cannot reach its QMP monitor (${e.message})`, { cause: e });
    }
    throw e;
  }
  return qmp;
}

/** Runs `fn` with a connected client and always closes it. */
export async function withQmp<T>(name: string, fn: (qmp: QmpClient) => Promise<T>, opts: { timeoutMs?: number; state?: boolean } = {}): Promise<T> {
  const qmp = await connectQmp(name, opts);
  try {
    return await fn(qmp);
  } finally {
    await qmp.close().catch(() => undefined);
  }
}
