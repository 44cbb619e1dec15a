// Bundles the web console's page (src/web/page/) into dist/web/: app.js (the
// page's code with xterm.js and noVNC), app.css and index.html. Everything the
// page needs is served by `qkvm web` itself: no CDN, works offline.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

mkdirSync('dist/web', { recursive: true });
await build({
  entryPoints: { app: 'src/web/page/app.js' },
  outdir: 'dist/web',
  bundle: true,
  format: 'esm',
  // noVNC uses top-level await (its H.264 probe).
  target: 'es2022',
  platform: 'browser',
  minify: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
await build({
  entryPoints: { app: 'src/web/page/style.css' },
  outdir: 'dist/web',
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
copyFileSync('src/web/page/index.html', 'dist/web/index.html');
