import { gzipSync } from 'node:zlib';
import type { Encoded } from './request-hostility.ts';
import { toWireJson } from './wire-json.ts';

/** `UPLOAD_MAX_BYTES` of the fuzz node: small, so that an oversized upload costs little. */
export const UPLOAD_MAX_BYTES = 64 * 1024;

/** What a multipart route's valid request sends: fields before the file, the file's name and bytes. */
export interface UploadSample {
  fields: Record<string, string>;
  file: { name: string; content: Buffer };
}

/** A multipart request to encode, honestly or not. */
export interface FormInput {
  /** Field parts sent before the file. */
  fields: Array<[string, string]>;
  /** The Content-Disposition parameter naming the file, as sent: `filename="notes.txt"`. */
  fileNameParam: string;
  content: Buffer;
}

/** A 1×1 PNG: the smallest upload that is an image. */
export const TINY_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
);

/**
 * A string as a careless client puts it on the wire: UTF-8, except that a
 * lone surrogate becomes its own three bytes (WTF-8) instead of U+FFFD.
 */
export function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    const next = text.charCodeAt(index + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      bytes.push(...Buffer.from(text.slice(index, index + 2)));
      index++;
    } else if (unit >= 0xd800 && unit <= 0xdfff) {
      bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    } else {
      bytes.push(...Buffer.from(text[index]!));
    }
  }
  return Buffer.from(bytes);
}

/** Every byte of `text` (as WTF-8) but the unreserved ones percent-encoded, for `filename*=UTF-8''…`. */
function percentEncoded(text: string): string {
  return [...wtf8(text)].map((byte) => (/[\w.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/** How a browser names a file in a part header: quoted, with `"`, CR and LF percent-encoded (HTML's form encoding). */
export function fileNameParam(name: string): string {
  return `filename="${name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A')}"`;
}

/** File names a client may claim, as Content-Disposition parameters. */
export const hostileFileNames: ReadonlyArray<{ label: string; param: string }> = [
  { label: 'path parts', param: 'filename="../../etc/passwd"' },
  { label: 'a Windows path', param: 'filename="C:\\\\Windows\\\\System32\\\\evil.exe"' },
  { label: 'unescaped backslashes', param: 'filename="..\\..\\boot.ini"' },
  { label: 'a NUL inside (filename*)', param: "filename*=UTF-8''a%00b.txt" },
  { label: 'a raw NUL byte', param: 'filename="a\u0000b.txt"' },
  { label: 'a bidi override', param: `filename*=UTF-8''${percentEncoded('invoice\u202egpj.exe')}` },
  { label: 'bidi isolates and zero-width characters', param: `filename*=UTF-8''${percentEncoded('\u2066a\u200b\u200d\ufeffb\u2069.txt')}` },
  { label: '10,000 characters', param: `filename="${'a'.repeat(10_000)}.txt"` },
  { label: '10,000 emoji (filename*)', param: `filename*=UTF-8''${percentEncoded('😀'.repeat(10_000))}` },
  { label: 'a lone surrogate (its WTF-8 bytes)', param: `filename*=UTF-8''${percentEncoded('\ud800.txt')}` },
  { label: 'invalid UTF-8', param: "filename*=UTF-8''%FF%FE%C0%AF.txt" },
  { label: 'CR LF (filename*)', param: "filename*=UTF-8''a%0D%0AX-Injected%3A%201.txt" },
  { label: 'a quote and a second filename', param: "filename*=UTF-8''a%22%3B%20filename%3D%22evil.html" },
  { label: 'empty', param: 'filename=""' },
  { label: 'dots only', param: 'filename=".."' },
  { label: 'whitespace only', param: "filename*=UTF-8''%20%09%C2%A0" },
  { label: 'malformed filename*', param: "filename*=UTF-8''%ZZ%" },
  { label: 'an unknown charset', param: "filename*=x-fuzz''abc.txt" },
  { label: 'markup', param: 'filename="<img src=x onerror=alert(1)>.html"' },
  { label: 'filename and a path in filename*', param: `filename="safe.txt"; filename*=UTF-8''..%2F..%2Fevil.sh` },
  { label: 'fullwidth solidus', param: `filename*=UTF-8''${percentEncoded('..／..／etc／passwd')}` },
  { label: 'an unterminated quote', param: 'filename="abc.txt' },
];

/** The fields of a (mutated) sample as form fields: an object's entries, anything else as the one `purpose` field; values not strings as JSON. */
export function formFields(payload: unknown): Array<[string, string]> {
  const text = (value: unknown) => (typeof value === 'string' ? value : toWireJson(value).text);
  if (payload === undefined) return [];
  if (payload !== null && typeof payload === 'object' && !Array.isArray(payload) && !Buffer.isBuffer(payload)) {
    return Object.entries(payload).map(([name, value]) => [name, text(value)]);
  }
  return [['purpose', text(payload)]];
}

const BOUNDARY = 'parley-fuzz-c0ffee';
const multipartType = (boundary = BOUNDARY): [string, string] => ['Content-Type', `multipart/form-data; boundary=${boundary}`];

interface Part {
  headers: string[];
  body: Buffer;
}

const quoted = (name: string) => name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const field = (name: string, value: string): Part => ({ headers: [`Content-Disposition: form-data; name="${quoted(name)}"`], body: wtf8(value) });
const filePart = (form: FormInput, overrides: { name?: string; content?: Buffer; type?: string } = {}): Part => ({
  headers: [`Content-Disposition: form-data; name="${overrides.name ?? 'file'}"; ${form.fileNameParam}`, `Content-Type: ${overrides.type ?? 'application/octet-stream'}`],
  body: overrides.content ?? form.content,
});

/** The multipart body of `parts` (header bytes as WTF-8); without its closing delimiter when `close` is false. */
function multipart(parts: Part[], options: { boundary?: string; close?: boolean } = {}): Buffer {
  const boundary = options.boundary ?? BOUNDARY;
  const chunks = parts.flatMap((part) => [wtf8(`--${boundary}\r\n${part.headers.join('\r\n')}\r\n\r\n`), part.body, Buffer.from('\r\n')]);
  if (options.close !== false) chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

const fieldsOf = (form: FormInput) => form.fields.map(([name, value]) => field(name, value));
const honest = (form: FormInput, content?: Buffer) => multipart([...fieldsOf(form), filePart(form, { content })]);

/** `body` in HTTP/1.1 chunks, for a request with no Content-Length. */
function chunked(body: Buffer, size = 8192): Buffer {
  const chunks: Buffer[] = [];
  for (let start = 0; start < body.length; start += size) {
    const piece = body.subarray(start, start + size);
    chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(chunks);
}
const chunkedHeaders: Array<[string, string]> = [multipartType(), ['Transfer-Encoding', 'chunked']];

/** Bytes of a file larger than any cap of the fuzz node, and of one cut off on its way. */
const bytes = (length: number) => Buffer.alloc(length, 0x61);
/** A body with enough bytes for a cut to fall inside the file. */
const longHonest = (form: FormInput) => honest(form, bytes(16 * 1024));

/**
 * Ways to send a multipart upload, honest and not. Each takes the request's
 * fields, file name and bytes; some ignore a part of them (an empty file, a
 * PNG as an avatar).
 */
export const formTransports: Record<string, (form: FormInput) => Encoded> = {
  multipart: (form) => ({ headers: [multipartType()], body: honest(form) }),
  'not multipart: JSON': (form) => ({
    headers: [['Content-Type', 'application/json']],
    body: Buffer.from(JSON.stringify({ ...Object.fromEntries(form.fields), file: form.content.toString('base64') })),
  }),
  'not multipart: form-urlencoded': (form) => ({
    headers: [['Content-Type', 'application/x-www-form-urlencoded']],
    body: Buffer.from(new URLSearchParams([...form.fields, ['file', form.content.toString('latin1')]]).toString()),
  }),
  'the multipart body as text/plain': (form) => ({ headers: [['Content-Type', 'text/plain']], body: honest(form) }),
  'the multipart body without Content-Type': (form) => ({ headers: [], body: honest(form) }),
  'multipart/form-data without a boundary': (form) => ({ headers: [['Content-Type', 'multipart/form-data']], body: honest(form) }),
  'a boundary other than the body’s': (form) => ({ headers: [multipartType('not-the-boundary')], body: honest(form) }),
  'an empty boundary': (form) => ({ headers: [['Content-Type', 'multipart/form-data; boundary=""']], body: honest(form) }),
  'a 300-character boundary': (form) => {
    const boundary = 'b'.repeat(300);
    return { headers: [multipartType(boundary)], body: multipart([...fieldsOf(form), filePart(form)], { boundary }) };
  },
  'multipart/mixed': (form) => ({ headers: [['Content-Type', `multipart/mixed; boundary=${BOUNDARY}`]], body: honest(form) }),
  'no file part': (form) => ({ headers: [multipartType()], body: multipart(fieldsOf(form)) }),
  'the file part named "upload"': (form) => ({ headers: [multipartType()], body: multipart([...fieldsOf(form), filePart(form, { name: 'upload' })]) }),
  'a file part without a filename': (form) => ({
    headers: [multipartType()],
    body: multipart([...fieldsOf(form), { headers: ['Content-Disposition: form-data; name="file"'], body: form.content }]),
  }),
  'two file parts': (form) => ({ headers: [multipartType()], body: multipart([...fieldsOf(form), filePart(form), filePart(form, { content: bytes(100) })]) }),
  'the file before the fields': (form) => ({ headers: [multipartType()], body: multipart([filePart(form), ...fieldsOf(form)]) }),
  'a part without Content-Disposition': (form) => ({
    headers: [multipartType()],
    body: multipart([{ headers: ['Content-Type: text/plain'], body: Buffer.from('orphan') }, ...fieldsOf(form), filePart(form)]),
  }),
  'a raw CR LF in the file part header': (form) => ({
    headers: [multipartType()],
    body: multipart([...fieldsOf(form), { headers: ['Content-Disposition: form-data; name="file"; filename="a\r\nContent-Type: text/html"'], body: form.content }]),
  }),
  'hundreds of fields': (form) => ({
    headers: [multipartType()],
    body: multipart([...Array.from({ length: 300 }, (_, index) => field(`f${index}`, 'x')), ...fieldsOf(form), filePart(form)]),
  }),
  'a field value of 2 KiB': (form) => ({ headers: [multipartType()], body: multipart([field('purpose', 'a'.repeat(2048)), ...fieldsOf(form), filePart(form)]) }),
  'a field value of 60 KiB': (form) => ({ headers: [multipartType()], body: multipart([field('purpose', '\ud800'.repeat(20_000)), filePart(form)]) }),
  'a field name of 10,000 characters': (form) => ({ headers: [multipartType()], body: multipart([field('p'.repeat(10_000), 'attachment'), filePart(form)]) }),
  'an empty file': (form) => ({ headers: [multipartType()], body: honest(form, Buffer.alloc(0)) }),
  'a PNG': (form) => ({ headers: [multipartType()], body: multipart([...fieldsOf(form), filePart(form, { content: TINY_PNG, type: 'image/png' })]) }),
  'an avatar that is text': (form) => ({ headers: [multipartType()], body: multipart([field('purpose', 'avatar'), filePart(form, { type: 'image/png' })]) }),
  'an icon that is a PNG': (form) => ({ headers: [multipartType()], body: multipart([field('purpose', 'icon'), filePart(form, { content: TINY_PNG })]) }),
  'a file of exactly UPLOAD_MAX_BYTES': (form) => ({ headers: [multipartType()], body: honest(form, bytes(UPLOAD_MAX_BYTES)) }),
  'a file one byte past UPLOAD_MAX_BYTES': (form) => ({ headers: [multipartType()], body: honest(form, bytes(UPLOAD_MAX_BYTES + 1)) }),
  'a file past UPLOAD_MAX_BYTES, chunked': (form) => ({ headers: chunkedHeaders, body: chunked(honest(form, bytes(UPLOAD_MAX_BYTES + 20_000))) }),
  'a body far past the limit (Content-Length)': (form) => ({ headers: [multipartType()], body: honest(form, bytes(3 * UPLOAD_MAX_BYTES)) }),
  'a body far past the limit, chunked': (form) => ({ headers: chunkedHeaders, body: chunked(honest(form, bytes(3 * UPLOAD_MAX_BYTES))) }),
  'cut off half-way': (form) => {
    const body = longHonest(form);
    return { headers: [multipartType()], body, abortAfterBytes: Math.floor(body.length / 2) };
  },
  'cut off half-way, chunked': (form) => {
    const body = chunked(longHonest(form), 4096);
    return { headers: chunkedHeaders, body, abortAfterBytes: Math.floor(body.length / 2) };
  },
  'no closing delimiter': (form) => ({ headers: [multipartType()], body: multipart([...fieldsOf(form), filePart(form)], { close: false }) }),
  'Content-Length shorter than the body': (form) => {
    const body = longHonest(form);
    return { headers: [multipartType(), ['Content-Length', String(Math.floor(body.length / 2))]], body, truncated: true };
  },
  'gzip-compressed multipart': (form) => ({ headers: [multipartType(), ['Content-Encoding', 'gzip']], body: gzipSync(honest(form)) }),
  'Content-Encoding: gzip on a plain multipart body': (form) => ({ headers: [multipartType(), ['Content-Encoding', 'gzip']], body: honest(form) }),
};

export const formTransportNames = Object.keys(formTransports);
