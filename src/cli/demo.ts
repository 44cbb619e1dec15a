// `qkvm demo` / `npm run demo`: the bundled guest from nothing to powered off,
// with the time of every step. It prints as it goes, so it lives in cli/.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { home, scripts } from '../config/paths.js';
import { note, print } from './output.js';

const DEMO = 'demo';

async function step<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t0 = Date.now();
  note(`==> ${label}`);
  const r = await fn();
  note(`    done in ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  return r;
}

export async function runDemo(opts: { keep?: boolean } = {}): Promise<void> {
  const api = await import('../api.js');
  const total = Date.now();
  await step(`demo guest kernel and initramfs (${home.demoDir()})`, async () => {
    await execa('bash', [scripts.buildDemoGuest(), home.demoDir()], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (!existsSync(join(home.demoDir(), 'vmlinuz'))) throw new Error('the demo guest build produced no kernel');
  });
  await step('define the demo guest (templates/demo.yaml)', async () => {
    if (api.vmExists(DEMO)) { note(`    guest "${DEMO}" is already defined; using it`); return; }
    await api.createGuest(DEMO, { template: 'demo' });
  });
  const st0 = await api.guestStatus(DEMO);
  if (st0.state !== 'shut off') {
    note(`    guest "${DEMO}" is ${st0.state}; stopping it first`);
    await api.destroyGuest(DEMO);
  }
  await step(`start it: qkvm start ${DEMO}  (the exact command: qkvm cmdline ${DEMO})`, async () => {
    const st = await api.startGuest(DEMO, { onNote: (l) => note(`    ${l}`) });
    note(`    running, QEMU pid ${st.pid}`);
  });
  await step('its serial console until the ready marker (qkvm console demo)', async () => {
    // serial.log holds everything since power-on, so nothing printed before we attach is lost.
    const deadline = Date.now() + 120_000;
    let shown = 0;
    for (;;) {
      const log = api.consoleLog(DEMO);
      if (log.length > shown) { process.stdout.write(log.slice(shown)); shown = log.length; }
      if (/QKVM-DEMO-READY/.test(log)) break;
      if (Date.now() > deadline) throw new Error('the demo guest did not print its ready marker within 120 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stdout.write('\n');
  });
  await step('qkvm list', async () => {
    const rows = await api.listGuests();
    for (const r of rows) print(`    ${r.name}  ${r.state}  pid ${r.pid}  ${Math.round((r.memoryBytes ?? 0) / 2 ** 20)} MiB  ${r.vcpus} vCPU`);
  });
  if (opts.keep) {
    note(`the demo guest keeps running: \`qkvm console ${DEMO}\` (Ctrl-] detaches), \`qkvm shutdown ${DEMO}\``);
    return;
  }
  await step(`ACPI shutdown: qkvm shutdown ${DEMO}`, async () => {
    await api.shutdownGuest(DEMO, { timeoutMs: 60_000, force: true, onStep: (s) => s !== 'powerdown' && note(`    escalating: ${s}`) });
  });
  note(`demo finished in ${((Date.now() - total) / 1000).toFixed(2)} s. Next: \`qkvm start ${DEMO} --console\`, \`qkvm cmdline ${DEMO} --explain\``);
}
