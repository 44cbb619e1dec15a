// QEMU runs an exec: migration URI through /bin/sh -c. A path goes into it only
// inside single quotes, and only if it has no character that could end them.
import { resolve } from 'node:path';
import { invalid } from '../errors.js';

/** Quotes an absolute path for sh; rejects quotes, backslashes and control characters outright. */
export function shQuotePath(path: string, what = 'file'): string {
  const abs = resolve(path);
  // eslint-disable-next-line no-control-regex
  if (/['\\\x00-\x1f\x7f]/.test(abs)) {
    throw invalid(`${what}: "${path}" contains a quote, a backslash or a control character`, 'QEMU passes the path to /bin/sh; choose a plainer file name');
  }
  return `'${abs}'`;
}

/** Checks a live-migration URI: tcp:HOST:PORT (what the tutorial's `-incoming tcp:0:4444` pairs with). */
export function parseTcpUri(uri: string): { host: string; port: number } {
  const m = /^tcp:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(uri);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw invalid(`migration URI: "${uri}" is not tcp:HOST:PORT`, 'for example tcp:192.0.2.7:4444');
  return { host: m[1], port };
}
