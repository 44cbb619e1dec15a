// The link relay process: `node dist/src/lab/relay-main.js RUN/labs/LAB/relay.sock`.
// Started detached by ensureRelay (relay.ts), its output goes to relay.log. Its
// control socket path, a whole argv element, is how qkvm recognises it in /proc.
import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { RelayServer } from './relay-server.js';

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);

function fail(message: string, code = 1): never {
  log(`relay: ${message}`);
  process.exit(code);
}

/** True when something answers on the socket: another relay already serves this lab. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  const socketPath = process.argv[2];
  if (process.argv.length !== 3 || !socketPath?.startsWith('/')) fail('usage: relay-main.js /ABSOLUTE/PATH/relay.sock', 2);
  // The directory must be private: qkvm made it 0700 (run.labDir).
  const dir = lstatSync(dirname(socketPath), { throwIfNoEntry: false });
  if (!dir || !dir.isDirectory() || dir.isSymbolicLink() || (dir.mode & 0o077) !== 0 || dir.uid !== process.getuid?.()) {
    fail(`${dirname(socketPath)} is not a private directory of this user (0700)`, 2);
  }
  const old = lstatSync(socketPath, { throwIfNoEntry: false });
  if (old) {
    if (!old.isSocket()) fail(`${socketPath} exists and is not a socket; left in place`, 2);
    if (await answers(socketPath)) fail(`another relay already answers on ${socketPath}`, 3);
    unlinkSync(socketPath); // a stale socket of a relay that died
  }
  const server = new RelayServer({ socketPath, log, onStop: () => process.exit(0) });
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => server.stop());
  process.on('uncaughtException', (e) => { log(`relay: ${e.stack ?? e}`); server.stop(); process.exit(1); });
  await server.listen();
}

main().catch((e) => fail(String(e?.stack ?? e)));
