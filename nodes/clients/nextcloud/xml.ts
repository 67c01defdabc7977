/**
 * A small namespace-aware XML reader, enough for WebDAV multistatus, Sabre error and OCS bodies. Element names come
 * back as `prefix:local` with the usual prefix of each namespace Nextcloud uses (d:, oc:, nc:, s:), whatever prefix
 * the document chose; elements without a namespace keep their plain name.
 */
export interface XmlElement {
  /** `{namespace}local`, shown with the usual prefix: d:, oc:, nc:, s: */
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

const PREFIXES: Record<string, string> = {
  'DAV:': 'd',
  'http://owncloud.org/ns': 'oc',
  'http://nextcloud.org/ns': 'nc',
  'http://sabredav.org/ns': 's',
  'http://open-collaboration-services.org/ns': 'ocs',
};

/** A small namespace-aware XML reader (enough for WebDAV and OCS answers); names come back as `prefix:local`. */
export function parseXmlTree(xml: string): XmlElement | undefined {
  const tokens =
    xml
      .replace(/<\?[\s\S]*?\?>/g, '')
      .replace(/<!--[\s\S]*?-->/g, '')
      .match(/<[^>]+>|[^<]+/g) ?? [];
  const root: XmlElement = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: Array<{ el: XmlElement; ns: Record<string, string> }> = [{ el: root, ns: { xml: 'xml' } }];
  for (const token of tokens) {
    const top = stack[stack.length - 1];
    if (token.startsWith('</')) {
      if (stack.length > 1) stack.pop();
      continue;
    }
    if (!token.startsWith('<')) {
      top.el.text += decodeEntities(token);
      continue;
    }
    const selfClosing = token.endsWith('/>');
    const inner = token.slice(1, selfClosing ? -2 : -1).trim();
    const nameEnd = inner.search(/\s/);
    const rawName = nameEnd < 0 ? inner : inner.slice(0, nameEnd);
    const attrs: Record<string, string> = {};
    const ns = { ...top.ns };
    for (const m of (nameEnd < 0 ? '' : inner.slice(nameEnd)).matchAll(/([\w:.-]+)\s*=\s*("([^"]*)"|'([^']*)')/g)) {
      const key = m[1];
      const value = decodeEntities(m[3] ?? m[4] ?? '');
      if (key === 'xmlns') ns[''] = value;
      else if (key.startsWith('xmlns:')) ns[key.slice(6)] = value;
      else attrs[key] = value;
    }
    const colon = rawName.indexOf(':');
    const prefix = colon < 0 ? '' : rawName.slice(0, colon);
    const local = colon < 0 ? rawName : rawName.slice(colon + 1);
    const uri = ns[prefix];
    const shown = uri !== undefined && PREFIXES[uri] ? `${PREFIXES[uri]}:${local}` : uri ? `{${uri}}${local}` : local;
    const el: XmlElement = { name: shown, attrs, children: [], text: '' };
    top.el.children.push(el);
    if (!selfClosing) stack.push({ el, ns });
  }
  return root.children[0];
}

function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (all, e: string) => {
    const k = e.toLowerCase();
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[k]) return named[k];
    const code = k.startsWith('#x') ? parseInt(k.slice(2), 16) : parseInt(k.slice(1), 10);
    return Number.isFinite(code) ? String.fromCodePoint(code) : all;
  });
}

/** The first child element named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/**
 * An element as plain data (for OCS envelopes): elements become keys, repeated `element` children an array, empty
 * ones null, text as text.
 */
export function xmlValue(el: XmlElement): unknown {
  if (el.children.length === 0) {
    const text = el.text.trim();
    return text === '' ? null : text;
  }
  if (el.children.every((c) => c.name === 'element')) return el.children.map(xmlValue);
  const out: Record<string, unknown> = {};
  for (const c of el.children) out[c.name] = xmlValue(c);
  return out;
}
