/** A small valid PDF (one page, Helvetica text) used by the seeds (sample documents) and by the Odoo peer (reports, attachments). */
function pdfText(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').replace(/([\\()])/g, '\\$1');
}

/** `info.creationDate`: an Info dictionary with /CreationDate (D:YYYYMMDDHHmmSSZ), as wkhtmltopdf stamps every rendering. */
export function makePdf(title: string, lines: string[] = [], info: { creationDate?: Date } = {}): Buffer {
  const text = [`BT /F1 18 Tf 72 770 Td (${pdfText(title)}) Tj ET`, ...lines.map((l, i) => `BT /F1 11 Tf 72 ${740 - i * 16} Td (${pdfText(l)}) Tj ET`)].join(
    '\n',
  );
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(text, 'latin1')} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  if (info.creationDate) objects.push(`<< /Producer (Odoo peer) /CreationDate (D:${info.creationDate.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z) >>`);
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R${info.creationDate ? ` /Info ${objects.length} 0 R` : ''} >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
