import { pipeline } from 'node:stream';
import busboy from 'busboy';
import type { Request } from 'express';
import type { IncomingFile } from '../domain/media/media.service.ts';
import { AppError } from '../errors.ts';

/** Fields a multipart upload may carry before its file, and how long each may be. */
const LIMITS = { fields: 8, fieldNameSize: 64, fieldSize: 1024, parts: 10, files: 1 };

/**
 * The file part (named `file`) of a multipart/form-data request, with the
 * fields sent before it, as soon as its bytes start: the caller streams them
 * on, nothing is buffered. Rejects with `invalid_payload` for a body that is
 * not multipart, ends without a file part, or is malformed.
 */
export function multipartFile(req: Request): Promise<{ fields: Map<string, string>; file: IncomingFile }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      // File names arrive as UTF-8 from every current browser and client (busboy's default reads them as Latin-1).
      parser = busboy({ headers: req.headers, limits: LIMITS, defParamCharset: 'utf8' });
    } catch {
      return reject(new AppError('invalid_payload', 'Expected a multipart/form-data body with a file part named "file"'));
    }
    const fields = new Map<string, string>();
    let settled = false;
    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      // The parser reads the rest and discards it; the request is answered with the refusal.
      reject(new AppError('invalid_payload', message));
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) return fail(`The field ${name.slice(0, 64)} is too long`);
      fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (settled || name !== 'file') return void stream.resume();
      settled = true;
      // The body may fail before its consumer starts reading (a form cut off): the failure stays in
      // `stream.errored` for it to find, instead of going unheard and ending the process.
      stream.on('error', () => {});
      resolve({ fields, file: { name: info.filename ?? '', body: stream } });
    });
    parser.on('fieldsLimit', () => fail('Too many fields'));
    parser.on('partsLimit', () => fail('Too many parts'));
    parser.on('close', () => fail('The body has no file part named "file"'));
    parser.on('error', (error: Error) => fail(`The multipart body is malformed: ${error.message}`));
    // A request the client abandons half-way destroys the parser, and so ends the file stream with an error.
    pipeline(req, parser, (error) => {
      if (error) fail(`The multipart body is malformed or cut off: ${error.message}`);
    });
  });
}
