// `qkvm web`: the browser console, in the foreground (no daemon): Ctrl-C stops it.
import type { CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, warn } from './output.js';

export const webCommands: CommandModule<any, any>[] = [
  {
    command: 'web',
    describe: 'Serve the web console (guests, serial and screen consoles) until Ctrl-C; prints a URL with a one-time token',
    builder: (y) => y
      .option('listen', { type: 'string', default: '127.0.0.1:8080', describe: 'ADDRESS:PORT to listen on (loopback unless --allow-remote; port 0 picks a free one)' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'allow a --listen address other hosts can reach' })
      .option('open', { type: 'boolean', default: false, describe: 'open the page in the desktop browser (xdg-open)' })
      .example('qkvm web', 'serve on http://127.0.0.1:8080/ and print the URL with its token')
      .example('qkvm web --listen 127.0.0.1:0 --open', 'a free port, opened in the browser')
      .example('qkvm web --listen 192.0.2.10:8080 --allow-remote', 'reachable from the network (read docs/web.md first)'),
    handler: action(async (a) => {
      const { parseListen, isLoopback } = await import('../web/auth.js');
      const listen = parseListen(a.listen);
      const { startWeb } = await import('../web/server.js');
      const web = await startWeb({ listen, allowRemote: a.allowRemote });
      if (!isLoopback(listen.host)) {
        warn(`the web console listens on ${listen.host}:${web.port}, reachable from other hosts: anyone with the token can start, stop and destroy every guest, type on their consoles and see their screens, as ${process.getuid?.() === 0 ? 'root' : 'this user'}. The traffic is plain HTTP: the token and the consoles cross the network unencrypted. Put it behind TLS (a reverse proxy or an SSH tunnel) or use loopback.`);
      }
      // The token is printed once, here; it is never on a command line (--open passes a file).
      print(`qkvm web console: ${web.url}`);
      note('open that URL (it holds the session token); Ctrl-C stops the console');
      let cleanup = () => {};
      if (a.open) cleanup = await openInBrowser(web.url);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // A terminal that hangs up (the ssh of `--connect HOST web` ending) ends the console too.
        process.once('SIGHUP', stop);
      });
      cleanup();
      await web.close();
      note('qkvm web: stopped');
    }),
  },
];

/** Jupyter's way: a private file that redirects to the URL, so the token stays out of the browser's argv. */
async function openInBrowser(url: string): Promise<() => void> {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'qkvm-web-')); // 0700
  const file = join(dir, 'open.html');
  const html = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=${url.replace(/"/g, '&quot;')}"><p><a href="${url.replace(/"/g, '&quot;')}">qkvm web console</a></p>\n`;
  writeFileSync(file, html, { mode: 0o600 });
  const { execa } = await import('execa');
  execa('xdg-open', [file], { detached: true, stdio: 'ignore', reject: false })
    .then((r) => { if (r.failed) note(`qkvm web: --open: xdg-open failed (${r.shortMessage}); open the URL above yourself`); })
    .catch(() => undefined);
  return () => rmSync(dir, { recursive: true, force: true });
}
