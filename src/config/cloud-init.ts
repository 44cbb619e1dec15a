// The `cloudInit:` block of a definition: what qkvm writes into the guest's
// NoCloud seed (src/image/seed.ts). Keys keep cloud-init's own spelling
// (ssh_authorized_keys, write_files, runcmd, instance-id, network-config), so a
// learner finds the same word in cloud-init's documentation.
import { z } from 'zod';

const TEXT = 64 * 1024;

/** A POSIX user name as Debian's adduser accepts it (its default NAME_REGEX). */
export const USER_RE = /^[a-z][-a-z0-9_]{0,31}$/;
/** A hostname label (RFC 1123): letters, digits, hyphens; not starting or ending with a hyphen. */
export const HOSTNAME_RE = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;
/** A crypt(3) hash (SHA-512 $6$, SHA-256 $5$, yescrypt $y$): the only form a password is stored in. */
export const PASSWORD_HASH_RE = /^\$(6|5|y)\$[./A-Za-z0-9$=]{8,200}$/;
/** One public key line: type, base64, optional comment. */
export const SSH_KEY_RE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]{16,16384}( [^\n\r]{0,512})?$/;

const WriteFile = z.object({
  path: z.string().regex(/^\/[^\0\n]{0,4094}$/, 'must be an absolute path in the guest'),
  content: z.string().max(TEXT).default(''),
  permissions: z.string().regex(/^0?[0-7]{3,4}$/, 'must be an octal mode like 0644').optional(),
  owner: z.string().regex(/^[a-z_][-a-z0-9_]*(:[a-z_][-a-z0-9_]*)?$/, 'must look like root:root').optional(),
  encoding: z.enum(['text/plain', 'b64', 'base64', 'gzip', 'gz', 'gz+b64', 'gzip+base64']).optional(),
  append: z.boolean().optional(),
}).strict();

export const CloudInit = z.object({
  /** The guest's instance: cloud-init runs its per-instance steps again when it changes (a clone gets a new one). */
  'instance-id': z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 _ . -').optional(),
  /** The user cloud-init creates, with sudo (default "debian"). */
  user: z.string().regex(USER_RE, 'must be a user name like debian or alice (lower case, up to 32 characters)').optional(),
  ssh_authorized_keys: z.array(z.string().regex(SSH_KEY_RE, 'must be one public key line like "ssh-ed25519 AAAA... me@host"')).max(64).default([]),
  /** The user's password as a crypt hash (`qkvm create --password-stdin` makes one); never the password itself. */
  passwd: z.string().regex(PASSWORD_HASH_RE, 'must be a crypt hash ($6$...), never a clear password: hash it with `openssl passwd -6 -stdin`').optional(),
  hostname: z.string().regex(HOSTNAME_RE, 'must be a hostname like web1 (letters, digits, hyphens)').optional(),
  packages: z.array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$/, 'must be a Debian package name')).max(256).default([]),
  runcmd: z.array(z.union([z.string().max(TEXT), z.array(z.string().max(TEXT)).max(256)])).max(256).default([]),
  write_files: z.array(WriteFile).max(256).default([]),
  /** Network configuration (cloud-init's version 1 or 2 format), written as the seed's network-config. */
  'network-config': z.record(z.unknown()).optional(),
  /** More user-data (#cloud-config YAML, e.g. from `create --cloud-init FILE`), merged under the fields above. */
  'user-data': z.string().max(TEXT).optional(),
  /** The private key `qkvm ssh` offers (set by `create --ssh-key` when the key's private half is beside it). */
  identity: z.string().regex(/^\/[^\0\n]{0,4094}$/, 'must be an absolute path').optional(),
}).strict();

export type CloudInit = z.output<typeof CloudInit>;
export type CloudInitInput = z.input<typeof CloudInit>;
