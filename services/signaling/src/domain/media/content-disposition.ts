// C0 and C1 controls, and the marks that reorder text ("invoice\u202Efdp.exe" shows as "invoiceexe.pdf").
const UNSAFE_IN_NAMES = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266,
 * RFC 8187): the name in UTF-8 for every current browser, an ASCII stand-in
 * for the rest, nothing that could end the header or the quoted string.
 */
export function contentDisposition(disposition: 'inline' | 'attachment', fileName: string): string {
  const name = fileName.toWellFormed().normalize('NFC').replace(UNSAFE_IN_NAMES, '').trim() || 'download';
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]|["\\%;/]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
