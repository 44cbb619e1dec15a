import tmp from 'tmp';

/** Runs `fn` in a private (0700) temporary directory that is removed however `fn` ends. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const d = tmp.dirSync({ prefix, unsafeCleanup: true, mode: 0o700 });
  try {
    return await fn(d.name);
  } finally {
    d.removeCallback();
  }
}
