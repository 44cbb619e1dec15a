// QEMU's "key=value,key=value" option syntax (QemuOpts): a doubled comma is a
// literal comma, the first item may be an implied value (-net nic, -vnc :1), and a
// bare word is a short-form boolean (password -> password=on, nowait -> wait=off).

export interface KeyVal {
  key: string;
  /** undefined for a bare word (short-form boolean), or the implied first item. */
  value?: string;
  /** The first item written without a key: the key is the option's implied one. */
  implied?: boolean;
}

function splitItems(text: string): string[] {
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') { cur += ','; i++; continue; }
      items.push(cur);
      cur = '';
      continue;
    }
    cur += text[i];
  }
  items.push(cur);
  return items;
}

/** Parses `nic,model=virtio,vlan=0`; with impliedKey the first bare item is that key's value. */
export function parseKeyVal(text: string, impliedKey?: string): KeyVal[] {
  if (text === '') return [];
  return splitItems(text).map((item, i) => {
    const eq = item.indexOf('=');
    if (i === 0 && impliedKey && eq < 0) return { key: impliedKey, value: item, implied: true };
    if (eq < 0) return { key: item };
    return { key: item.slice(0, eq), value: item.slice(eq + 1) };
  }).filter((kv) => kv.key !== '' || kv.value !== undefined);
}

const esc = (s: string) => s.replace(/,/g, ',,');

export function formatKeyVal(items: readonly KeyVal[]): string {
  return items.map((kv) => (kv.implied ? esc(kv.value ?? '') : kv.value === undefined ? esc(kv.key) : `${esc(kv.key)}=${esc(kv.value)}`)).join(',');
}

export function getKey(items: readonly KeyVal[], key: string): string | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (items[i].key === key) return items[i].value ?? 'on';
  return undefined;
}

export function hasKey(items: readonly KeyVal[], key: string): boolean {
  return items.some((kv) => kv.key === key);
}

export function withoutKeys(items: readonly KeyVal[], ...keys: string[]): KeyVal[] {
  return items.filter((kv) => !keys.includes(kv.key));
}

/**
 * Rewrites short-form booleans (`server` -> `server=on`, `nowait` -> `wait=off`),
 * which QEMU 7.2 still takes but warns about. Returns the words it rewrote.
 */
export function expandShortBooleans(items: KeyVal[], negatable: readonly string[] = []): string[] {
  const fixed: string[] = [];
  for (const kv of items) {
    if (kv.implied || kv.value !== undefined) continue;
    fixed.push(kv.key);
    if (kv.key.startsWith('no') && negatable.includes(kv.key.slice(2))) {
      kv.key = kv.key.slice(2);
      kv.value = 'off';
    } else {
      kv.value = 'on';
    }
  }
  return fixed;
}

/** QEMU's on/off spellings (on, yes, y, true / off, no, n, false). */
export function isOn(v: string | undefined): boolean {
  return v !== undefined && ['on', 'yes', 'y', 'true'].includes(v.toLowerCase());
}
