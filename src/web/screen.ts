// The guest's screen for noVNC: where its VNC server listens (asked of QEMU,
// not of the definition), and a fresh VNC password for this session, set over
// QMP so that it never appears on a command line.
import { randomBytes } from 'node:crypto';
import { startedSpec, requireActive } from '../runtime/state.js';
import { withQmp } from '../runtime/qmp.js';

export type ScreenInfo =
  | { available: true; host: string; port: number; password?: string }
  | { available: false; reason: string };

/** 8 characters: VNC authentication uses only the first 8 bytes of a password. */
export const vncPassword = () => randomBytes(6).toString('base64url');

/** A wildcard listen address is reached through loopback. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** `password`: set a new session password when the VNC server asks for one (the page's request); the proxy only needs the address. */
export async function screenInfo(name: string, opts: { password?: boolean } = {}): Promise<ScreenInfo> {
  await requireActive(name, { query: false });
  const spec = startedSpec(name);
  if (spec && spec.display?.type !== 'vnc') {
    return { available: false, reason: `guest "${name}" has no display: its definition says display: none, so QEMU serves no screen. Use the serial console, or set display: {type: vnc} (and vga: std) and restart it.` };
  }
  if (spec && spec.vga === 'none') {
    return { available: false, reason: `guest "${name}" has a VNC server but no graphics card (vga: none): there is nothing to show. Set vga: std and restart it.` };
  }
  return withQmp(name, async (qmp) => {
    const v = await qmp.execute<{ enabled: boolean; host?: string; service?: string; auth?: string }>('query-vnc');
    if (!v.enabled || !v.service) return { available: false as const, reason: `guest "${name}": QEMU reports no VNC server` };
    let password: string | undefined;
    if (v.auth === 'vnc' && opts.password) {
      // password=on: a new password for this session; an older session's viewers stay connected.
      password = vncPassword();
      await qmp.execute('set_password', { protocol: 'vnc', password });
    }
    return { available: true as const, host: connectHost(v.host ?? '127.0.0.1'), port: Number(v.service), password };
  });
}
