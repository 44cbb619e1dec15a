// A small XML writer (indented, escaped) and the one parser setup every interop
// reader shares. Writing by hand keeps attribute order stable, so a golden test
// and a human diff read the same; parsing goes through fast-xml-parser.
import { XMLParser } from 'fast-xml-parser';
import { invalid } from '../errors.js';

export type Attrs = Record<string, string | number | boolean | undefined>;
export interface XmlEl { name: string; attrs: Attrs; children: (XmlEl | string)[] }

export const el = (name: string, attrs: Attrs = {}, ...children: (XmlEl | string | undefined | false | (XmlEl | undefined | false)[])[]): XmlEl => ({
  name,
  attrs,
  children: children.flat().filter((c): c is XmlEl | string => c !== undefined && c !== false),
});

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

function attrText(attrs: Attrs): string {
  return Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => ` ${k}="${escapeXml(String(v))}"`).join('');
}

/** Serialises an element: text-only elements on one line, others indented by two spaces. */
export function renderXml(e: XmlEl, indent = ''): string {
  const open = `${indent}<${e.name}${attrText(e.attrs)}`;
  if (!e.children.length) return `${open}/>\n`;
  if (e.children.every((c) => typeof c === 'string')) return `${open}>${escapeXml(e.children.join(''))}</${e.name}>\n`;
  const inner = e.children.map((c) => (typeof c === 'string' ? `${indent}  ${escapeXml(c)}\n` : renderXml(c, `${indent}  `))).join('');
  return `${open}>\n${inner}${indent}</${e.name}>\n`;
}

export const xmlDocument = (root: XmlEl) => `<?xml version="1.0" encoding="UTF-8"?>\n${renderXml(root)}`;

/** Attributes under `@_`, every element an array (order-free lookups), text under `#text`, no entity expansion beyond XML's own. */
export function parseXml(text: string, source: string): any {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw invalid(`${source}: a DOCTYPE or ENTITY declaration is not accepted`, 'export the file again without a DTD');
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    textNodeName: '#text',
    isArray: (_name, _jpath, _isLeaf, isAttribute) => !isAttribute,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    processEntities: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: false,
  });
  try {
    return parser.parse(text, true);
  } catch (e: any) {
    throw invalid(`${source}: not well-formed XML: ${e?.err?.msg ?? e?.message ?? e}`);
  }
}

/** The first child element named `name` (any namespace prefix when `anyNs`), or undefined. */
export function child(node: any, name: string): any {
  const v = node?.[name];
  return Array.isArray(v) ? v[0] : v;
}

export function children(node: any, name: string): any[] {
  const v = node?.[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

export function text(node: any): string | undefined {
  if (node === undefined || node === null) return undefined;
  if (typeof node === 'string' || typeof node === 'number') return String(node);
  const t = node['#text'];
  return t === undefined ? undefined : String(t);
}

export const attr = (node: any, name: string): string | undefined => (node?.[`@_${name}`] === undefined ? undefined : String(node[`@_${name}`]));

/** The element names of a node, without attributes and text. */
export const elementNames = (node: any): string[] => Object.keys(node ?? {}).filter((k) => !k.startsWith('@_') && k !== '#text');
