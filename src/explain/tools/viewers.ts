// The graphical libvirt tools: virt-viewer (a display window) and virt-manager
// (the whole GUI). qkvm has no GUI; it gives the VNC address and the console.
import type { ToolExplainer } from '../types.js';
import { equivalent, none, normalizeDash, part, unknown } from '../words.js';

const VIEWER_OPTS: Record<string, [boolean, string]> = {
  '-c': [true, 'connects to a libvirt daemon (qkvm has none)'],
  '--connect': [true, 'connects to a libvirt daemon (qkvm has none)'],
  '-w': [false, 'waits for the guest to start'],
  '--wait': [false, 'waits for the guest to start'],
  '-f': [false, 'opens the window full screen'],
  '--full-screen': [false, 'opens the window full screen'],
  '-r': [false, 'reconnects when the guest restarts'],
  '--reconnect': [false, 'reconnects when the guest restarts'],
};

export const explainVirtViewer: ToolExplainer = (args, ctx, tool) => {
  const parts = [];
  let guest: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const w = normalizeDash(args[i]);
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const name = eq > 0 ? w.slice(0, eq) : w;
    if (!w.startsWith('-')) {
      if (guest) return unknown(tool, [tool, args[i]], 'virt-viewer takes one guest name');
      guest = args[i];
      parts.push(part(args[i], `the guest ${args[i]}`));
      continue;
    }
    const o = VIEWER_OPTS[name];
    if (!o) return unknown(tool, [tool, args[i]], `virt-viewer has no option ${args[i]} that qkvm knows`);
    if (o[0] && eq < 0) { parts.push(part([args[i], args[i + 1] ?? ''], o[1])); i++; } else parts.push(part(args[i], o[1]));
  }
  if (!guest) return unknown(tool, [tool], 'virt-viewer needs a guest name');
  const says = `opens a window on guest ${guest}'s graphical display`;
  return equivalent(tool, says, ['qkvm', 'vnc', guest], parts, [`qkvm console ${guest}`]);
};

export const explainVirtManager: ToolExplainer = (_args, _ctx, tool) =>
  none(tool, "opens libvirt's graphical manager", 'qkvm has no GUI: it is a command line; a VNC viewer shows a guest\'s screen', [], ['qkvm list --all', 'qkvm vnc NAME']);
