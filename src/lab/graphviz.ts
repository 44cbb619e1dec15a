// Graphviz's `dot` turns labGraphDot's text into SVG or PNG. The text goes in
// on stdin, the picture comes back on stdout: no file is named on its argv.
import { loadExeca } from '../config/lazy.js';
import { QkvmError } from '../errors.js';

export const DOT = 'dot';

export async function renderDot(dotText: string, format: 'svg' | 'png'): Promise<Buffer> {
  const { execa } = await loadExeca();
  const r = await execa(DOT, [`-T${format}`], { input: dotText, encoding: 'buffer', reject: false, timeout: 60_000 });
  if ((r as any).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message)))) {
    throw new QkvmError('HOST', `${DOT} (Graphviz) is not installed: it draws --format ${format}`,
      { hint: 'install it with scripts/setup-host.sh (Debian package graphviz), or use --format html, which needs nothing' });
  }
  if (r.exitCode !== 0) {
    throw new QkvmError('HOST', `${DOT} -T${format} failed: ${Buffer.from(r.stderr as Uint8Array).toString('utf8').trim() || `exit status ${r.exitCode}`}`);
  }
  return Buffer.from(r.stdout as Uint8Array);
}
