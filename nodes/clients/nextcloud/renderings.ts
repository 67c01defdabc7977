/**
 * Two renderings of one PDF document. A renderer stamps every rendering with its time: a real Odoo 18 answers the
 * report route for the same invoice with a new `/CreationDate (D:20261201083351Z)` each second (wkhtmltopdf), other
 * producers add a `/ModDate`, a random trailer `/ID` or XMP dates. A retry after the upload, a redelivery or a replay
 * of a document job therefore uploads bytes that differ from the stored file in those values only; under the
 * conflict policy `skip` that is the document already stored (kept as it is, nothing replaced). Anything else that
 * differs (a byte of the content, the length) is another document.
 */

/** Larger PDFs are compared by their hash only (both would be held in memory). */
export const RENDERING_COMPARE_MAX_BYTES = 64 * 1024 * 1024;

const blank = (v: string) => '0'.repeat(v.length);

/** Each stamp: the pattern, and its match with the stamped values blanked (the rest kept as it is). */
const STAMPS: Array<[RegExp, (...m: string[]) => string]> = [
  [/(\/(?:CreationDate|ModDate)\s*\()((?:\\.|[^\\)])*)\)/g, (_, key, v) => `${key}${blank(v)})`],
  [/(\/(?:CreationDate|ModDate)\s*<)([0-9A-Fa-f\s]*)>/g, (_, key, v) => `${key}${blank(v)}>`],
  [/(\/ID\s*\[\s*<)([0-9A-Fa-f]*)(>\s*<)([0-9A-Fa-f]*)>/g, (_, open, a, mid, b) => `${open}${blank(a)}${mid}${blank(b)}>`],
  [/(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)([^<]*)</g, (_, tag, v) => `${tag}${blank(v)}<`],
  [/(\bxmp:(?:CreateDate|ModifyDate|MetadataDate)=")([^"]*)"/g, (_, attr, v) => `${attr}${blank(v)}"`],
];

export function isPdf(data: Buffer): boolean {
  return data.length >= 5 && data.subarray(0, 5).toString('latin1') === '%PDF-';
}

/** The PDF with the values of its rendering stamps blanked in place (same length, so the offsets still agree). */
function unstamped(data: Buffer): string {
  let text = data.toString('latin1');
  for (const [re, blanked] of STAMPS) text = text.replace(re, blanked as (...m: string[]) => string);
  return text;
}

/** true when `a` and `b` are PDFs of the same length that differ only in their rendering stamps. */
export function sameRendering(a: Buffer, b: Buffer): boolean {
  if (a.length !== b.length || !isPdf(a) || !isPdf(b)) return false;
  if (a.equals(b)) return true;
  return unstamped(a) === unstamped(b);
}
